//! Settings errors: where (file and position, or environment variable) and what.

use std::fmt;

/// One problem with the settings.
///
/// Displayed as `upkeep.yml:3:5: unknown field ...` for a problem in the
/// file, `UPKEEP_PULL_REQUESTS__GROUP: unknown variant ...` for one in an
/// environment override, `upkeep.yml: ...` when there is no position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", position(.line, .column))]
pub struct SettingsError {
    /// The settings file as named, or the environment variable.
    pub file: String,
    /// 1-based line, when the problem is in the file.
    pub line: Option<usize>,
    /// 1-based column in characters, when the problem is in the file.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

fn position(line: &Option<usize>, column: &Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

impl SettingsError {
    /// An error about a whole file or variable, with no position.
    pub fn whole(file: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a position in a file.
    pub fn at(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        SettingsError {
            file: file.into(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
}

/// Every problem found in one load, file errors in file order, then those of
/// environment overrides. Never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SettingsErrors(pub Vec<SettingsError>);

impl SettingsErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, SettingsError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<SettingsError> for SettingsErrors {
    fn from(e: SettingsError) -> Self {
        SettingsErrors(vec![e])
    }
}

impl<'a> IntoIterator for &'a SettingsErrors {
    type Item = &'a SettingsError;
    type IntoIter = std::slice::Iter<'a, SettingsError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One error per line.
impl fmt::Display for SettingsErrors {
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
        let e = SettingsError::at("upkeep.yml", 3, 5, "unknown field `x`");
        assert_eq!(e.to_string(), "upkeep.yml:3:5: unknown field `x`");
        let v = SettingsError::whole("UPKEEP_PULL_REQUESTS__GROUP", "unknown variant `x`");
        assert_eq!(
            v.to_string(),
            "UPKEEP_PULL_REQUESTS__GROUP: unknown variant `x`"
        );
        let all = SettingsErrors(vec![e, v]);
        assert_eq!(all.to_string().lines().count(), 2);
    }
}
