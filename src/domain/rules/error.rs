//! Errors about rule files, fork schedules and rule tests: each names the
//! file, and the line and column when the problem is inside it.
//!
//! Also holds [`locate`], which finds the node at a path of keys and indexes
//! in a positioned YAML tree, for problems found after deserialization.

use crate::domain::yaml::Node;

use super::de::DeError;

pub use crate::domain::located::{Located, Problems as RulesError};

/// A deserialization error at its position in `file`.
pub(crate) fn from_de(file: &str, e: DeError) -> Located {
    Located {
        file: file.to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    }
}

/// One step of a path into a YAML tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// The node at `path` under `root`, or the deepest one that exists.
pub fn locate<'a>(root: &'a Node, path: &[Seg<'_>]) -> &'a Node {
    let mut node = root;
    for seg in path {
        let next = match seg {
            Seg::Key(k) => node.entry(k).map(|(_, v)| v),
            Seg::Index(i) => node.seq().and_then(|items| items.get(*i)),
        };
        match next {
            Some(n) => node = n,
            None => return node,
        }
    }
    node
}

/// The key node of the last `Seg::Key` of `path` (for "unknown name" errors
/// about map keys), or the deepest node that exists.
pub fn locate_key<'a>(root: &'a Node, path: &[Seg<'_>]) -> &'a Node {
    match path.split_last() {
        Some((Seg::Key(k), parent)) => {
            let parent = locate(root, parent);
            parent.entry(k).map_or(parent, |(key, _)| key)
        }
        _ => locate(root, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_locate() {
        let e = Located {
            file: "a.yml".into(),
            line: Some(3),
            column: Some(5),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "a.yml:3:5: bad");
        assert_eq!(Located::whole("a.yml", "x").to_string(), "a.yml: x");
        let doc = &crate::domain::yaml::parse("a:\n  - b: 1\n    c: [x, y]\n", 0).unwrap()[0];
        let n = locate(
            doc,
            &[Seg::Key("a"), Seg::Index(0), Seg::Key("c"), Seg::Index(1)],
        );
        assert_eq!((n.line, n.column), (3, 12));
        let n = locate_key(doc, &[Seg::Key("a"), Seg::Index(0), Seg::Key("c")]);
        assert_eq!((n.line, n.column), (3, 5));
        let n = locate(doc, &[Seg::Key("a"), Seg::Index(7)]);
        assert_eq!((n.line, n.column), (2, 3));
        assert_eq!(
            RulesError(vec![e.clone(), e]).to_string().lines().count(),
            2
        );
    }
}
