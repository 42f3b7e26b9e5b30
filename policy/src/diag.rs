//! Diagnostics: errors with file, line, column and the source line shown.

use std::fmt;
use std::sync::Arc;

/// A byte range in one loaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Index of the file in the [`Sources`] it came from.
    pub file: u32,
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    pub(crate) fn new(file: u32, r: std::ops::Range<usize>) -> Self {
        Self {
            file,
            start: u32::try_from(r.start).unwrap_or(u32::MAX),
            end: u32::try_from(r.end).unwrap_or(u32::MAX),
        }
    }

    /// The smallest span covering `self` and `other` (same file).
    #[must_use]
    pub fn to(self, other: Self) -> Self {
        Self {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// The text of every loaded file, indexed by [`Span::file`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<(String, String)>,
}

impl Sources {
    pub(crate) fn add(&mut self, name: String, text: String) -> u32 {
        self.files.push((name, text));
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// The name (path) and text of file `id`.
    #[must_use]
    pub fn file(&self, id: u32) -> Option<(&str, &str)> {
        self.files
            .get(id as usize)
            .map(|(n, t)| (n.as_str(), t.as_str()))
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(n, _)| n.as_str())
    }

    /// File name, 1-based line and 1-based column (in characters) of a span's start.
    #[must_use]
    pub fn locate(&self, span: Span) -> (String, u32, u32) {
        let Some((name, text)) = self.file(span.file) else {
            return (String::from("<unknown>"), 0, 0);
        };
        let start = (span.start as usize).min(text.len());
        let before = text.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (
            name.to_owned(),
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(col).unwrap_or(u32::MAX),
        )
    }
}

/// One problem found while loading, checking or testing a policy.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// What is wrong, e.g. "expected ';', found 'accept'".
    pub message: String,
    /// Where.
    pub span: Span,
    /// A short label under the span.
    pub label: String,
    /// Other places worth showing (e.g. the first declaration of a name).
    pub related: Vec<(Span, String)>,
    /// File name of `span`.
    pub file: String,
    /// 1-based line of `span`'s start.
    pub line: u32,
    /// 1-based column (characters) of `span`'s start.
    pub column: u32,
}

impl Diagnostic {
    pub(crate) fn new(span: Span, message: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            span,
            label: label.into(),
            related: Vec::new(),
            file: String::new(),
            line: 0,
            column: 0,
        }
    }

    pub(crate) fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }
}

/// A set of diagnostics with the sources they point into.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The problems, in the order found.
    pub items: Vec<Diagnostic>,
    sources: Arc<Sources>,
}

impl Diagnostics {
    pub(crate) fn new(mut items: Vec<Diagnostic>, sources: Arc<Sources>) -> Self {
        for d in &mut items {
            let (file, line, column) = sources.locate(d.span);
            d.file = file;
            d.line = line;
            d.column = column;
        }
        Self { items, sources }
    }

    /// The files the diagnostics point into.
    #[must_use]
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Renders every diagnostic with ariadne (no colour): message, file,
    /// line and column, the source line and the span underlined.
    #[must_use]
    pub fn render(&self) -> String {
        use ariadne::{Config, IndexType, Label, Report, ReportKind};
        let names: Vec<String> = self.sources.names().map(str::to_owned).collect();
        let name_of = |s: Span| names.get(s.file as usize).cloned().unwrap_or_default();
        let mut out = Vec::new();
        for d in &self.items {
            let range = |s: Span| s.start as usize..s.end.max(s.start) as usize;
            let mut report = Report::build(ReportKind::Error, (name_of(d.span), range(d.span)))
                .with_config(
                    Config::default()
                        .with_color(false)
                        .with_index_type(IndexType::Byte),
                )
                .with_message(&d.message)
                .with_label(Label::new((name_of(d.span), range(d.span))).with_message(&d.label));
            for (s, l) in &d.related {
                report = report.with_label(Label::new((name_of(*s), range(*s))).with_message(l));
            }
            let cache = ariadne::sources(
                self.sources
                    .files
                    .iter()
                    .map(|(n, t)| (n.clone(), t.clone())),
            );
            if report.finish().write(cache, &mut out).is_err() {
                out.extend_from_slice(
                    format!("{}:{}:{}: {}\n", d.file, d.line, d.column, d.message).as_bytes(),
                );
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{}:{}:{}: {}", d.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
