//! rampartd configuration: one TOML file.
//!
//! Loading goes `model` (serde, unknown keys rejected) → `validate` (semantic
//! checks) → the typed runtime [`Config`]. Every error names the file, the
//! line and column, and the key, so an operator can fix it without guessing;
//! a bad file is rejected whole.
//!
//! ```toml
//! [global]
//! router-id = "192.0.2.1"
//! local-as = 64500
//!
//! [[peer]]
//! address = "198.18.0.2"
//! remote-as = 64501
//! role = "rs-client"
//!
//! [[template]]
//! name = "tenants"
//! range = "10.20.0.0/16"
//! remote-as = "64512-65534"
//! role = "rs-client"
//!
//! [[rpki-cache]]
//! address = "192.0.2.10"
//! port = 3323
//! ```

mod model;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::{
    AddPathMode, Family, IoBackend, MaxPrefixAction, MaxPrefixConfig, NextHopSetting, Role,
};
pub use validate::{
    AllowedPrefixes, AsRange, Config, GlobalConfig, MrtDumpConfig, OriginateConfig, PeerConfig,
    PolicyConfig, RpkiCacheConfig, SessionSettings, TemplateConfig, TimersConfig,
};

/// A configuration error with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The key the error is about (e.g. `peer[2].remote-as`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// 1-based (line, column) of byte offset `pos` in `src`.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = src.get(..pos.min(src.len())).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The dotted key whose value or name sits at byte offset `pos`: the key on
/// that line (text before `=`), prefixed by the nearest table header above.
fn key_at(src: &str, pos: usize) -> Option<String> {
    let start = src
        .get(..pos.min(src.len()))?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = src.get(start..)?.lines().next()?;
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string());
    let header = src.get(..start)?.lines().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']')).then(|| l.trim_matches(['[', ']']).to_string())
    });
    match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(h), None) => Some(h),
        (None, None) => None,
    }
}

impl ConfigError {
    pub(crate) fn at(file: &Path, src: &str, pos: Option<usize>, message: String) -> Self {
        let (line, column) = pos.map(|p| line_col(src, p)).unzip();
        Self {
            file: file.to_path_buf(),
            line,
            column,
            key: pos.and_then(|p| key_at(src, p)),
            message,
        }
    }
}

impl Config {
    /// Reads and validates the configuration file at `path`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file (and line, column and key where the
    /// problem has a place) when the file cannot be read, is not valid TOML,
    /// has unknown keys or values of the wrong type, or fails validation.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &src)
    }

    /// Parses and validates configuration text; `path` is used in errors.
    ///
    /// # Errors
    /// As [`Config::load`], except for reading.
    pub fn parse(path: &Path, src: &str) -> Result<Self, ConfigError> {
        let raw: model::RawConfig = toml::from_str(src).map_err(|e| {
            ConfigError::at(
                path,
                src,
                e.span().map(|s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        validate::validate(raw, path, src)
    }
}

#[cfg(test)]
mod tests;
