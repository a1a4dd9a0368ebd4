//! Start-up errors: one message that names the file, the field and the fix.
//!
//! Everything that can be wrong with a manifest or a runtime config is reported
//! through [`ConfigError`], so `skyport up` prints one clear paragraph instead of a
//! panic or a wasmtime backtrace.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem with the files `skyport up` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in the file: a dotted path such as `component.hello.source`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl ConfigError {
    pub fn new(
        file: &Path,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.problem)?;
        if !self.fix.is_empty() {
            write!(f, "\n  fix: {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Turns a `toml` deserialization error into a [`ConfigError`], keeping the
/// line and column and naming the offending key where toml reports one.
pub fn from_toml(file: &Path, err: toml::de::Error, source: &str) -> ConfigError {
    let (line, col) = err
        .span()
        .map(|span| line_col(source, span.start))
        .unwrap_or((0, 0));
    let message = err.message().trim().to_string();
    let field = if line > 0 {
        format!("line {line}, column {col}")
    } else {
        String::new()
    };
    let fix = if message.starts_with("unknown field") {
        "remove the field or correct its spelling; the accepted fields are listed above"
    } else if message.starts_with("missing field") {
        "add the field"
    } else {
        "correct the value to the form the field takes"
    };
    ConfigError::new(file, field, message, fix)
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_field_and_fix() {
        let e = ConfigError::new(
            Path::new("spin.toml"),
            "component.a.source",
            "file `a.wasm` does not exist",
            "run `skyport build`",
        );
        assert_eq!(
            e.to_string(),
            "spin.toml: `component.a.source`: file `a.wasm` does not exist\n  fix: run `skyport build`"
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("abc", 0), (1, 1));
    }
}
