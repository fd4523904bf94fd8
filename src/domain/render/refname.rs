//! Git branch-name validation: the rules of `git check-ref-format --branch`,
//! applied to `refs/heads/<name>`.

/// Why a name is not a valid branch name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefNameError {
    #[error("it is empty")]
    Empty,
    #[error("it starts with '-'")]
    LeadingDash,
    #[error("it is reserved (\"{0}\")")]
    Reserved(String),
    #[error("it contains {0}")]
    Forbidden(String),
    #[error("a path component starts with '.'")]
    DotComponent,
    #[error("a path component ends with \".lock\"")]
    LockComponent,
    #[error("it starts or ends with '/' or has an empty path component")]
    EmptyComponent,
    #[error("it ends with '.'")]
    TrailingDot,
}

/// Checks `name` as a branch name (`refs/heads/<name>`) by git's rules:
/// no control characters, space, `~ ^ : ? * [ \`, no `..` or `@{`, not `@`,
/// no component starting with `.` or ending with `.lock`, no empty component
/// (leading, trailing or doubled `/`), no trailing `.`, no leading `-`, not
/// `HEAD`.
pub fn check_branch_name(name: &str) -> Result<(), RefNameError> {
    if name.is_empty() {
        return Err(RefNameError::Empty);
    }
    if name.starts_with('-') {
        return Err(RefNameError::LeadingDash);
    }
    if name == "@" || name == "HEAD" {
        return Err(RefNameError::Reserved(name.to_string()));
    }
    if let Some(c) = name.chars().find(|&c| {
        c.is_ascii_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\')
    }) {
        return Err(RefNameError::Forbidden(format!("{c:?}")));
    }
    for seq in ["..", "@{"] {
        if name.contains(seq) {
            return Err(RefNameError::Forbidden(format!("{seq:?}")));
        }
    }
    if name.ends_with('.') {
        return Err(RefNameError::TrailingDot);
    }
    for component in name.split('/') {
        if component.is_empty() {
            return Err(RefNameError::EmptyComponent);
        }
        if component.starts_with('.') {
            return Err(RefNameError::DotComponent);
        }
        if component.ends_with(".lock") {
            return Err(RefNameError::LockComponent);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for name in [
            "upkeep/lighthouse-v7.0.0",
            "upkeep/geth-v1.15.11-lighthouse-v7.0.0",
            "main",
            "a/b/c",
            "v1.0.0+build",
            "x@y",
            "ünïcode",
            "a.lockx",
            "a#1",
        ] {
            assert_eq!(check_branch_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn invalid_names() {
        use RefNameError::*;
        let cases: &[(&str, RefNameError)] = &[
            ("", Empty),
            ("-x", LeadingDash),
            ("@", Reserved("@".into())),
            ("HEAD", Reserved("HEAD".into())),
            ("a b", Forbidden("' '".into())),
            ("a~1", Forbidden("'~'".into())),
            ("a^", Forbidden("'^'".into())),
            ("a:b", Forbidden("':'".into())),
            ("a?", Forbidden("'?'".into())),
            ("a*", Forbidden("'*'".into())),
            ("a[b", Forbidden("'['".into())),
            ("a\\b", Forbidden("'\\\\'".into())),
            ("a\tb", Forbidden("'\\t'".into())),
            ("a\u{7f}", Forbidden("'\\u{7f}'".into())),
            ("a..b", Forbidden("\"..\"".into())),
            ("a@{b", Forbidden("\"@{\"".into())),
            ("a.", TrailingDot),
            ("a/.b", DotComponent),
            (".a", DotComponent),
            ("a/b.lock", LockComponent),
            ("a.lock/b", LockComponent),
            ("/a", EmptyComponent),
            ("a/", EmptyComponent),
            ("a//b", EmptyComponent),
        ];
        for (name, err) in cases {
            assert_eq!(check_branch_name(name).as_ref(), Err(err), "{name:?}");
        }
    }
}
