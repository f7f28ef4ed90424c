//! Reader errors.

/// A reader could not make sense of its input. Always says where (1-based line and column,
/// 0-based byte offset) and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{format}: line {line}, column {column}: {message}")]
pub struct ReadError {
    /// `storage`, `markdown`, `ir`…
    pub format: &'static str,
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub message: String,
}

impl ReadError {
    /// Builds an error at byte `offset` of `input`, computing line and column (in characters).
    pub fn at(
        format: &'static str,
        input: &str,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let offset = offset.min(input.len());
        let mut cut = offset;
        while cut > 0 && !input.is_char_boundary(cut) {
            cut -= 1;
        }
        let before = &input[..cut];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ReadError {
            format,
            line,
            column,
            offset,
            message: message.into(),
        }
    }

    /// Builds an error for bytes that are not UTF-8.
    pub fn from_utf8(format: &'static str, bytes: &[u8], err: std::str::Utf8Error) -> Self {
        let valid = err.valid_up_to();
        // Safe: the prefix up to `valid_up_to` is valid UTF-8.
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        ReadError::at(
            format,
            prefix,
            valid,
            format!(
                "invalid UTF-8 at byte {valid}: the input must be UTF-8 (re-export it as UTF-8 or fix the file's encoding)"
            ),
        )
    }
}
