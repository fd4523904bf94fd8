//! Errors about rule files, fork schedules and rule tests: each names the
//! file, and the line and column when the problem is inside it. Positions of
//! problems found after deserialization come from [`yaml::locate`].

use crate::domain::yaml::{self, Node, Target};

pub use crate::domain::located::{Located, Problems as RulesError};
pub(crate) use crate::domain::yaml::Seg;

/// The node at `path` under `root`, or the deepest one that exists.
pub(crate) fn locate<'a>(root: &'a Node, path: &[Seg<'_>]) -> &'a Node {
    yaml::locate(root, path, Target::Value)
}

/// The key node of the last `Seg::Key` of `path` (for "unknown name" errors
/// about map keys), or the deepest node that exists.
pub(crate) fn locate_key<'a>(root: &'a Node, path: &[Seg<'_>]) -> &'a Node {
    yaml::locate(root, path, Target::Key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let e = Located {
            file: "a.yml".into(),
            line: Some(3),
            column: Some(5),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "a.yml:3:5: bad");
        assert_eq!(Located::whole("a.yml", "x").to_string(), "a.yml: x");
        let doc = &yaml::parse("a:\n  c: [x, y]\n", 0).unwrap()[0];
        let n = locate_key(doc, &[Seg::Key("a"), Seg::Key("c")]);
        assert_eq!((n.line, n.column), (2, 3));
        assert_eq!(
            RulesError(vec![e.clone(), e]).to_string().lines().count(),
            2
        );
    }
}
