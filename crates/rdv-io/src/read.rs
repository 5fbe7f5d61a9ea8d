//! Reading an uploaded spreadsheet (CSV in any usual encoding and separator, or XLSX) into a
//! header and rows, with every problem of a row said in words an organizer understands.

mod delimited;
mod workbook;

/// The zip local-file signature every XLSX starts with.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// An empty zip archive starts with its end-of-central-directory record.
const EMPTY_ZIP_MAGIC: &[u8] = b"PK\x05\x06";
/// The OLE2 compound file signature: old `.xls` workbooks, and password-protected `.xlsx` too.
const OLE2_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// How much a file may hold before it is refused.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The whole file; over it the file is refused with [`ReadError::TooLarge`].
    pub max_bytes: usize,
    /// Data rows; over it the file is refused with [`ReadError::TooManyRows`].
    pub max_rows: usize,
    /// A longer cell is not an error of the file: its row gets a problem.
    pub max_cell_chars: usize,
    /// A header wider than this refuses the file with [`ReadError::TooManyColumns`].
    pub max_columns: usize,
    /// XLSX: the sum of the uncompressed sizes of the zip entries (zip-bomb guard).
    pub max_unzipped_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: 50 * 1024 * 1024,
            max_rows: 200_000,
            // Excel's own limit for a cell.
            max_cell_chars: 32_767,
            max_columns: 200,
            max_unzipped_bytes: 500 * 1024 * 1024,
        }
    }
}

/// What the reader found the file to be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum Detected {
    Csv {
        /// "utf-8", "utf-8 with BOM", "windows-1252", "utf-16le" or "utf-16be".
        encoding: String,
        /// ',' ';' or '\t'.
        separator: char,
    },
    Xlsx {
        sheet: String,
    },
}

/// One data row of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line (CSV: physical line where the record starts, 1-based, header is line 1 usually)
    /// or sheet row number (XLSX: 1-based row number as Excel shows it) of this row.
    pub line: u64,
    /// One string per header column: missing trailing cells are "" and `problem` says so.
    /// Extra cells beyond the header are dropped and `problem` says so. Cells are NOT trimmed.
    pub cells: Vec<String>,
    /// Why the row cannot be used as read, if so: "the row has 5 cells, the header 7",
    /// "cell 3 is longer than 32767 characters" (then that cell is replaced by "" in `cells`).
    pub problem: Option<String>,
}

/// A file read: what it was, its header and its data rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub detected: Detected,
    /// Trimmed; an empty header cell is named "column N" (1-based).
    pub headers: Vec<String>,
    /// Data rows only; rows whose cells are all blank are skipped.
    pub rows: Vec<Row>,
}

/// Why a file cannot be read at all. Every message is a sentence for an organizer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header but no rows")]
    HeaderOnly,
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("the file has more than {max} rows")]
    TooManyRows { max: usize },
    #[error("the file has more than {max} columns")]
    TooManyColumns { max: usize },
    /// Two header cells equal after trimming, ignoring case.
    #[error("two columns are named \"{0}\": rename one of them")]
    DuplicateHeader(String),
    #[error("the file is neither a spreadsheet nor text: export it as .xlsx or CSV")]
    NotText,
    #[error("the file is an old Excel workbook (.xls): save it as .xlsx or CSV")]
    OldExcel,
    /// A zip that is not an XLSX, an unreadable XLSX, an `.ods`...; the reason says which.
    #[error("the file cannot be read as a spreadsheet: {0}")]
    NotSpreadsheet(String),
    #[error("the workbook unpacks to more than {max} bytes or is abnormally compressed")]
    ZipBomb { max: u64 },
    #[error("the workbook has no sheet named \"{name}\"; its sheets are: {}", .sheets.join(", "))]
    NoSuchSheet { name: String, sheets: Vec<String> },
    #[error("line {line}: {reason}")]
    BadCsv { line: u64, reason: String },
}

/// Reads a whole file: XLSX when it starts with the zip signature (first sheet, or `sheet`),
/// otherwise CSV. Never panics, whatever the bytes.
pub fn read(bytes: &[u8], sheet: Option<&str>, limits: &ReadLimits) -> Result<Sheet, ReadError> {
    if bytes.is_empty() {
        return Err(ReadError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ReadError::TooLarge {
            max: limits.max_bytes,
        });
    }
    if bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(EMPTY_ZIP_MAGIC) {
        return workbook::read_xlsx(bytes, sheet, limits);
    }
    if bytes.starts_with(OLE2_MAGIC) {
        return Err(ole2_error(bytes));
    }
    delimited::read_csv(bytes, limits)
}

/// Excel keeps a password-protected `.xlsx` inside an OLE2 container, beside an
/// "EncryptedPackage" stream; telling it apart from an `.xls` saves the organizer a wrong fix.
fn ole2_error(bytes: &[u8]) -> ReadError {
    let marker: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
        ReadError::NotSpreadsheet(
            "the workbook is protected by a password: remove the password and upload it again"
                .to_string(),
        )
    } else {
        ReadError::OldExcel
    }
}

/// A cell as the format reader hands it over, before it is placed under the header.
#[derive(Debug, Clone, PartialEq)]
enum RawCell {
    Text(String),
    /// A spreadsheet error value such as `#N/A`: read as "" with a row problem.
    Error,
}

impl RawCell {
    fn is_blank(&self) -> bool {
        match self {
            RawCell::Text(t) => is_blank(t),
            RawCell::Error => false,
        }
    }
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// A spreadsheet number as text: integral values without ".0", so that a phone number or a
/// postcode typed as a number reads as the organizer typed it; others in Rust's shortest form.
pub(crate) fn float_text(value: f64) -> String {
    // Below 2^53 every integral f64 converts to i64 exactly.
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Turns the header row's cells into the sheet's headers: trimmed, trailing empty cells dropped
/// (Excel's CSV export often adds empty columns that were merely formatted), other empty cells
/// named "column N", duplicates refused.
fn build_headers(raw: Vec<String>, limits: &ReadLimits) -> Result<Vec<String>, ReadError> {
    let mut headers: Vec<String> = raw.into_iter().map(|h| h.trim().to_string()).collect();
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    if headers.len() > limits.max_columns {
        return Err(ReadError::TooManyColumns {
            max: limits.max_columns,
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(headers.len());
    for (index, header) in headers.iter_mut().enumerate() {
        if header.is_empty() {
            *header = format!("column {}", index + 1);
        }
        if !seen.insert(header.to_lowercase()) {
            return Err(ReadError::DuplicateHeader(header.clone()));
        }
    }
    Ok(headers)
}

/// Places a data row's cells under the header, saying what does not fit. Returns None for a row
/// whose cells are all blank.
///
/// `cells` maps 0-based column positions to values; `last_column` is the 0-based position of the
/// row's last non-blank cell, which may lie beyond the cells kept (the XLSX reader drops cells
/// far to the right of the header). `short_rows_are_problems` is true for CSV, where a record
/// with fewer separators than the header is suspicious; an XLSX row just has empty cells.
fn place_row(
    line: u64,
    cells: impl IntoIterator<Item = (usize, RawCell)>,
    last_column: Option<usize>,
    width: usize,
    short_rows_are_problems: bool,
    limits: &ReadLimits,
) -> Option<Row> {
    let mut out = vec![String::new(); width];
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    // Cells handed over (CSV: fields of the record), and one past the last non-blank one.
    let mut count = 0usize;
    let mut filled = last_column.map_or(0, |c| c + 1);
    for (column, cell) in cells {
        count = count.max(column + 1);
        if !cell.is_blank() {
            filled = filled.max(column + 1);
        }
        if column >= width {
            continue;
        }
        match cell {
            RawCell::Text(text) => {
                // A cell's char count is at most its byte length: count only when it may matter.
                if text.len() > limits.max_cell_chars
                    && text.chars().count() > limits.max_cell_chars
                {
                    problems.push(format!(
                        "cell {} is longer than {} characters",
                        column + 1,
                        limits.max_cell_chars
                    ));
                } else {
                    out[column] = text;
                }
            }
            RawCell::Error => errors.push(column),
        }
    }
    if filled == 0 {
        return None;
    }
    for column in errors {
        problems.push(format!("cell {} holds a spreadsheet error", column + 1));
    }
    // Blank cells past the header are noise from formatting, not data that would be lost.
    let wide = filled > width;
    let short = short_rows_are_problems && count < width;
    if wide || short {
        let count = if short_rows_are_problems {
            count
        } else {
            filled
        };
        problems.insert(0, format!("the row has {count} cells, the header {width}"));
    }
    Some(Row {
        line,
        cells: out,
        problem: if problems.is_empty() {
            None
        } else {
            Some(problems.join("; "))
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ReadLimits {
        ReadLimits::default()
    }

    fn text(s: &str) -> RawCell {
        RawCell::Text(s.to_string())
    }

    #[test]
    fn detected_serialises_with_its_format_as_a_tag() {
        let csv = Detected::Csv {
            encoding: "windows-1252".into(),
            separator: ';',
        };
        assert_eq!(
            serde_json::to_value(&csv).unwrap(),
            serde_json::json!({"format": "csv", "encoding": "windows-1252", "separator": ";"})
        );
        let xlsx = Detected::Xlsx {
            sheet: "Feuil1".into(),
        };
        assert_eq!(
            serde_json::to_value(&xlsx).unwrap(),
            serde_json::json!({"format": "xlsx", "sheet": "Feuil1"})
        );
    }

    #[test]
    fn numbers_read_as_typed() {
        assert_eq!(float_text(33_612_345_678.0), "33612345678");
        assert_eq!(float_text(75001.0), "75001");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(1.5), "1.5");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn headers_are_trimmed_named_and_deduplicated() {
        let headers = build_headers(
            vec![
                " Nom ".into(),
                "".into(),
                "Email".into(),
                "".into(),
                " ".into(),
            ],
            &limits(),
        );
        assert_eq!(
            headers,
            Ok(vec!["Nom".to_string(), "column 2".into(), "Email".into()])
        );
        assert_eq!(
            build_headers(vec!["Email".into(), " EMAIL".into()], &limits()),
            Err(ReadError::DuplicateHeader("EMAIL".into()))
        );
    }

    #[test]
    fn too_wide_a_header_is_refused() {
        let limits = ReadLimits {
            max_columns: 2,
            ..ReadLimits::default()
        };
        assert_eq!(
            build_headers(vec!["a".into(), "b".into(), "c".into()], &limits),
            Err(ReadError::TooManyColumns { max: 2 })
        );
    }

    #[test]
    fn a_row_with_extra_blank_cells_has_no_problem() {
        let cells = vec![
            (0, text("a")),
            (1, text("b")),
            (2, text("")),
            (3, text(" ")),
        ];
        let row = place_row(3, cells, None, 2, true, &limits());
        assert_eq!(
            row,
            Some(Row {
                line: 3,
                cells: vec!["a".into(), "b".into()],
                problem: None
            })
        );
    }

    #[test]
    fn a_spreadsheet_error_blanks_the_cell_and_says_so() {
        let cells = vec![(0, text("a")), (1, RawCell::Error)];
        let row = place_row(2, cells, Some(1), 2, false, &limits());
        assert_eq!(
            row.and_then(|r| r.problem),
            Some("cell 2 holds a spreadsheet error".to_string())
        );
    }

    #[test]
    fn an_encrypted_workbook_is_not_called_an_old_excel_file() {
        let mut bytes = OLE2_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(
            read(&bytes, None, &limits()).err(),
            Some(ReadError::OldExcel)
        );
        bytes.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(matches!(
            read(&bytes, None, &limits()),
            Err(ReadError::NotSpreadsheet(reason)) if reason.contains("password")
        ));
    }

    #[test]
    fn messages_are_sentences_without_a_final_period() {
        let errors = [
            ReadError::Empty,
            ReadError::DuplicateHeader("Email".into()),
            ReadError::NoSuchSheet {
                name: "Feuil3".into(),
                sheets: vec!["Feuil1".into(), "Feuil2".into()],
            },
            ReadError::BadCsv {
                line: 4,
                reason: "a quoted cell is never closed".into(),
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.ends_with('.'), "{message}");
            assert!(
                message.starts_with(|c: char| !c.is_uppercase()),
                "{message}"
            );
        }
        assert_eq!(
            ReadError::NoSuchSheet {
                name: "Feuil3".into(),
                sheets: vec!["Feuil1".into(), "Feuil2".into()],
            }
            .to_string(),
            "the workbook has no sheet named \"Feuil3\"; its sheets are: Feuil1, Feuil2"
        );
    }
}
