//! A source file as the linter sees it: decoded text plus a line index that
//! turns tree-sitter byte offsets into 1-based lines and character columns
//! (and UTF-16 columns, which SARIF consumers such as GitHub expect).
pub(crate) struct SourceFile {
    pub(crate) text: String,
    line_starts: Vec<usize>,
    /// All ASCII (most files): a column is a byte distance, with no need to count characters
    /// from the line start (which is quadratic on a huge one-line file with many findings).
    ascii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) struct Position {
    /// 1-based line.
    pub(crate) row: usize,
    /// 1-based column, in Unicode scalar values (what an editor calls a character).
    pub(crate) column: usize,
}

impl SourceFile {
    pub(crate) fn new(text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let ascii = text.is_ascii();
        SourceFile { text, line_starts, ascii }
    }

    /// 0-based line index of a byte offset.
    pub(crate) fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    pub(crate) fn line_start(&self, line_index: usize) -> usize {
        self.line_starts.get(line_index).copied().unwrap_or(self.text.len())
    }

    /// The text of a 0-based line, without its line ending.
    #[cfg(test)]
    pub(crate) fn line_text(&self, line_index: usize) -> &str {
        let start = self.line_start(line_index);
        let end = self.line_starts.get(line_index + 1).copied().unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or("").trim_end_matches(['\n', '\r'])
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let prefix = &self.text[self.line_start(line)..offset];
        let column = if self.ascii { prefix.len() } else { prefix.chars().count() };
        Position { row: line + 1, column: column + 1 }
    }

    /// 1-based column counted in UTF-16 code units (SARIF `columnKind: utf16CodeUnits`).
    pub(crate) fn utf16_column(&self, offset: usize) -> usize {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let prefix = &self.text[self.line_start(line)..offset];
        if self.ascii {
            return prefix.len() + 1;
        }
        prefix.encode_utf16().count() + 1
    }

    /// Largest char boundary at or below `offset`, so slicing never panics.
    fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        let file = SourceFile::new("a = 1\nb = 'é😀' + x\n".into());
        let x = file.text.find('x').unwrap();
        assert_eq!(file.position(x), Position { row: 2, column: 12 });
        assert_eq!(file.utf16_column(x), 13);
        assert_eq!(file.position(0), Position { row: 1, column: 1 });
        assert_eq!(file.line_text(1), "b = 'é😀' + x");
        assert_eq!(file.position(10_000).row, 3);
    }
}
