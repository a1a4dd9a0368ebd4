//! Spin's identifier rules, with Spin's reasons: component ids are kebab-case
//! (`-`-separated words), variable names lower snake_case (`_`-separated).
//!
//! A word starts with an ASCII letter and is all lowercase or all UPPERCASE
//! letters and digits; `lower` ids allow lowercase words only.

/// Checks `id` as Spin's `Id<delim, lower>`; the reason is Spin's wording.
pub fn check(id: &str, delim: char, lower: bool) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty".into());
    }
    let wrong = if delim == '_' { '-' } else { '_' };
    if id.contains(wrong) {
        return Err(format!(
            "words must be separated with {delim:?}, not {wrong:?}"
        ));
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("{delim:?}-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "{delim:?}-separated words must start with an ASCII letter; got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if c.is_ascii_digit() {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(format!(
                    "{delim:?}-separated words may only contain alphanumeric ASCII; got {c:?}"
                ));
            }
            if c.is_ascii_uppercase() != upper {
                return Err(format!(
                    "{delim:?}-separated words must be all lowercase or all UPPERCASE; got {word:?}"
                ));
            }
        }
        if lower && upper {
            return Err(format!(
                "Lower-case identifiers must be all lowercase; got {id:?}"
            ));
        }
    }
    Ok(())
}

/// Spin's `KebabId`: component ids, dependency names.
pub fn kebab(id: &str) -> Result<(), String> {
    check(id, '-', false)
}

/// Spin's `LowerSnakeId`: variable names in the manifest.
pub fn lower_snake(name: &str) -> Result<(), String> {
    check(name, '_', true)
}

/// A store or database label, or a capability set name: kebab-case or
/// snake_case (Spin's `KebabId` or `SnakeId`), with Spin's reason.
pub fn kebab_or_snake(name: &str) -> Result<(), String> {
    match kebab(name).is_ok() || check(name, '_', false).is_ok() {
        true => Ok(()),
        false => Err("expected kebab-case or snake_case".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids_follow_spin() {
        for ok in ["a", "my-component", "API", "api-V2", "x1-y2"] {
            assert!(kebab(ok).is_ok(), "{ok}");
        }
        let reason = |id| kebab(id).unwrap_err();
        assert_eq!(
            reason("app-2fa"),
            "'-'-separated words must start with an ASCII letter; got '2'"
        );
        assert_eq!(reason("a_b"), "words must be separated with '-', not '_'");
        assert_eq!(reason("a--b"), "'-'-separated words must not be empty");
        assert_eq!(
            reason("Api"),
            "'-'-separated words must be all lowercase or all UPPERCASE; got \"Api\""
        );
        assert_eq!(
            reason("a.b"),
            "'-'-separated words may only contain alphanumeric ASCII; got '.'"
        );
    }

    #[test]
    fn labels_are_kebab_or_snake() {
        for ok in ["default", "my-cache", "my_cache", "API"] {
            assert!(kebab_or_snake(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Cache.v2", "a-b_c", "2fa"] {
            assert_eq!(
                kebab_or_snake(bad).unwrap_err(),
                "expected kebab-case or snake_case",
                "{bad}"
            );
        }
    }

    #[test]
    fn variable_names_follow_spin() {
        for ok in ["a", "token_key", "v2"] {
            assert!(lower_snake(ok).is_ok(), "{ok}");
        }
        let reason = |n| lower_snake(n).unwrap_err();
        assert_eq!(
            reason("port_8080"),
            "'_'-separated words must start with an ASCII letter; got '8'"
        );
        assert_eq!(reason("a_"), "'_'-separated words must not be empty");
        assert_eq!(reason("a__b"), "'_'-separated words must not be empty");
        assert_eq!(
            reason("API"),
            "Lower-case identifiers must be all lowercase; got \"API\""
        );
        assert_eq!(reason("a-b"), "words must be separated with '_', not '-'");
    }
}
