//! Problems in users' files, located by file, line and column: the one error
//! type the loaders of settings, catalog and rule files report with, so that
//! every such message reads `file:line:column: what is wrong`.
//!
//! Knows positions (from [`crate::domain::yaml`]) and nothing about what the files
//! mean.

use std::fmt;

use crate::domain::yaml::Node;

/// One problem in one file (or environment variable), displayed
/// `file:line:column: message`, `file:line: message` or `file: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", position(*.line, *.column))]
pub struct Located {
    /// The file as named, or the environment variable.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column in characters, when known.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl Located {
    /// A problem with a whole file or variable.
    pub fn whole(file: impl Into<String>, message: impl Into<String>) -> Self {
        Located {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A problem at a 1-based line and column.
    pub fn at(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Located {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    /// A problem at a node of a positioned YAML tree.
    pub fn at_node(file: impl Into<String>, node: &Node, message: impl Into<String>) -> Self {
        Located::at(file, node.line, node.column, message)
    }
}

/// Every problem found in one load, in file order; never empty when returned
/// as an error. Displayed one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Located>);

impl Problems {
    pub fn iter(&self) -> std::slice::Iter<'_, Located> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Located> for Problems {
    fn from(e: Located) -> Self {
        Problems(vec![e])
    }
}

impl<'a> IntoIterator for &'a Problems {
    type Item = &'a Located;
    type IntoIter = std::slice::Iter<'a, Located>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms() {
        let e = Located::at("upkeep.yml", 3, 5, "unknown field `x`");
        assert_eq!(e.to_string(), "upkeep.yml:3:5: unknown field `x`");
        let v = Located::whole("UPKEEP_PULL_REQUESTS__GROUP", "unknown variant `x`");
        assert_eq!(
            v.to_string(),
            "UPKEEP_PULL_REQUESTS__GROUP: unknown variant `x`"
        );
        let all = Problems(vec![e, v]);
        assert_eq!(all.to_string().lines().count(), 2);
    }
}
