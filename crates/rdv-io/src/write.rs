//! Exports: CSV and XLSX written row by row into memory, with spreadsheet formulas neutralised in
//! CSV and typed cells in XLSX.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use crate::read::float_text;

/// Excel's last row is 1,048,576; one is the header.
const XLSX_MAX_DATA_ROWS: u32 = 1_048_575;
/// Excel's limit for the text of a cell.
const XLSX_MAX_CELL_CHARS: usize = 32_767;
/// Excel's limit for a sheet name.
const SHEET_NAME_MAX_CHARS: usize = 31;
/// Rows looked at to size the columns before the first row is streamed out.
const WIDTH_SAMPLE_ROWS: usize = 100;
const MIN_COLUMN_WIDTH: usize = 8;
const MAX_COLUMN_WIDTH: usize = 60;
/// Excel shows 15 significant digits: larger integers are written as text to stay exact.
const XLSX_MAX_EXACT_INT: u64 = 999_999_999_999_999;

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Date(chrono::NaiveDate),
    DateTime(chrono::DateTime<chrono::Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterFormat {
    /// `separator` is b',' or b';' (what French Excel expects).
    Csv {
        separator: u8,
    },
    Xlsx,
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the CSV file: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the XLSX file: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot write the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("a spreadsheet holds at most {max} rows")]
    TooManyRows { max: u32 },
}

/// A spreadsheet written row by row without keeping the rows: CSV into a `Vec<u8>` (UTF-8 with a
/// BOM so that Excel reads accents; text cells starting with = + - @ tab or CR neutralised with a
/// leading apostrophe; dates as ISO text, date-times as RFC 3339 UTC), or XLSX in
/// rust_xlsxwriter's constant-memory mode with a bold frozen header and typed cells.
pub struct Writer {
    inner: Inner,
    width: usize,
    rows: u64,
}

enum Inner {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Xlsx(Box<XlsxSheet>),
}

struct XlsxSheet {
    workbook: Workbook,
    headers: Vec<String>,
    /// The first rows, held until the column widths are known: constant-memory mode writes the
    /// widths ahead of the rows. None once they are out.
    pending: Option<Vec<Vec<Cell>>>,
    bold: Format,
    date: Format,
    datetime: Format,
}

impl Writer {
    pub fn new(
        format: WriterFormat,
        sheet_name: &str,
        headers: &[&str],
    ) -> Result<Writer, WriteError> {
        let inner = match format {
            WriterFormat::Csv { separator } => {
                let mut writer = csv::WriterBuilder::new()
                    .delimiter(separator)
                    .terminator(csv::Terminator::CRLF)
                    // Excel reads a UTF-8 CSV as Windows-1252 unless it starts with a BOM.
                    .from_writer(b"\xEF\xBB\xBF".to_vec());
                writer.write_record(headers.iter().map(|h| neutralise_formula(h).into_owned()))?;
                Inner::Csv(Box::new(writer))
            }
            WriterFormat::Xlsx => {
                let mut workbook = Workbook::new();
                workbook
                    .add_worksheet_with_constant_memory()
                    .set_name(sheet_title(sheet_name))?;
                Inner::Xlsx(Box::new(XlsxSheet {
                    workbook,
                    headers: headers.iter().map(|h| h.to_string()).collect(),
                    pending: Some(Vec::with_capacity(WIDTH_SAMPLE_ROWS)),
                    bold: Format::new().set_bold(),
                    date: Format::new().set_num_format("yyyy-mm-dd"),
                    datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
                }))
            }
        };
        Ok(Writer {
            inner,
            width: headers.len(),
            rows: 0,
        })
    }

    /// Writes one row under the header. Missing cells are empty; cells beyond the header are
    /// ignored.
    pub fn write_row(&mut self, cells: &[Cell]) -> Result<(), WriteError> {
        let cells = &cells[..cells.len().min(self.width)];
        match &mut self.inner {
            Inner::Csv(writer) => {
                let padding = std::iter::repeat_n(Cow::Borrowed(""), self.width - cells.len());
                let fields: Vec<Cow<'_, str>> = cells.iter().map(csv_text).chain(padding).collect();
                writer.write_record(fields.iter().map(|f| f.as_bytes()))?;
            }
            Inner::Xlsx(sheet) => {
                if self.rows >= u64::from(XLSX_MAX_DATA_ROWS) {
                    return Err(WriteError::TooManyRows {
                        max: XLSX_MAX_DATA_ROWS,
                    });
                }
                match &mut sheet.pending {
                    Some(pending) if pending.len() < WIDTH_SAMPLE_ROWS => {
                        pending.push(cells.to_vec());
                    }
                    _ => {
                        sheet.flush_pending()?;
                        // Row 0 is the header; the row count is below Excel's limit, checked above.
                        let row = u32::try_from(self.rows + 1).unwrap_or(u32::MAX);
                        sheet.write_cells(row, cells)?;
                    }
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The finished file's bytes.
    pub fn finish(self) -> Result<Vec<u8>, WriteError> {
        match self.inner {
            Inner::Csv(writer) => writer.into_inner().map_err(|e| e.into_error().into()),
            Inner::Xlsx(mut sheet) => {
                sheet.flush_pending()?;
                Ok(sheet.workbook.save_to_buffer()?)
            }
        }
    }

    pub fn content_type(format: WriterFormat) -> &'static str {
        match format {
            WriterFormat::Csv { .. } => "text/csv; charset=utf-8",
            WriterFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    pub fn extension(format: WriterFormat) -> &'static str {
        match format {
            WriterFormat::Csv { .. } => "csv",
            WriterFormat::Xlsx => "xlsx",
        }
    }
}

impl XlsxSheet {
    fn worksheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(0)
    }

    /// Sizes the columns from the header and the rows held, then writes them all out.
    fn flush_pending(&mut self) -> Result<(), WriteError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let headers = std::mem::take(&mut self.headers);
        let bold = self.bold.clone();
        let worksheet = self.worksheet()?;
        for (index, header) in headers.iter().enumerate() {
            let longest = pending
                .iter()
                .filter_map(|row| row.get(index))
                .map(display_chars)
                .fold(header.chars().count(), usize::max);
            let width = longest.clamp(MIN_COLUMN_WIDTH, MAX_COLUMN_WIDTH);
            let column = column_number(index)?;
            worksheet.set_column_width(column, width as f64)?;
            worksheet.write_string_with_format(0, column, truncated(header), &bold)?;
        }
        worksheet.set_freeze_panes(1, 0)?;
        for (index, cells) in pending.iter().enumerate() {
            let row = u32::try_from(index + 1).unwrap_or(u32::MAX);
            self.write_cells(row, cells)?;
        }
        Ok(())
    }

    fn write_cells(&mut self, row: u32, cells: &[Cell]) -> Result<(), WriteError> {
        let date = self.date.clone();
        let datetime = self.datetime.clone();
        let worksheet = self.worksheet()?;
        for (index, cell) in cells.iter().enumerate() {
            let column = column_number(index)?;
            match cell {
                Cell::Empty => {}
                // write_string never turns text into a formula: no neutralising needed.
                Cell::Text(text) => {
                    worksheet.write_string(row, column, truncated(text))?;
                }
                Cell::Int(i) if i.unsigned_abs() <= XLSX_MAX_EXACT_INT => {
                    worksheet.write_number(row, column, *i as f64)?;
                }
                Cell::Int(i) => {
                    worksheet.write_string(row, column, i.to_string())?;
                }
                Cell::Number(n) if n.is_finite() => {
                    worksheet.write_number(row, column, *n)?;
                }
                // Excel has no NaN or infinity: an empty cell says "no value" best.
                Cell::Number(_) => {}
                Cell::Bool(b) => {
                    worksheet.write_boolean(row, column, *b)?;
                }
                Cell::Date(d) => match excel_date(d) {
                    Some(serial) => {
                        worksheet.write_date_with_format(row, column, serial, &date)?;
                    }
                    None => {
                        worksheet.write_string(row, column, iso_date(d))?;
                    }
                },
                Cell::DateTime(t) => match excel_datetime(&t.naive_utc()) {
                    Some(serial) => {
                        worksheet.write_datetime_with_format(row, column, serial, &datetime)?;
                    }
                    None => {
                        worksheet.write_string(row, column, rfc3339(t))?;
                    }
                },
            }
        }
        Ok(())
    }
}

/// `=1+1` -> `'=1+1`; anything else unchanged. A spreadsheet opening a CSV runs a cell starting
/// with one of = + - @ (or tab, CR) as a formula: the apostrophe makes it text again.
pub fn neutralise_formula(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn csv_text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Empty => Cow::Borrowed(""),
        Cell::Text(text) => neutralise_formula(text),
        Cell::Int(i) => Cow::Owned(i.to_string()),
        Cell::Number(n) if n.is_finite() => Cow::Owned(float_text(*n)),
        Cell::Number(_) => Cow::Borrowed(""),
        Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        Cell::Date(d) => Cow::Owned(iso_date(d)),
        Cell::DateTime(t) => Cow::Owned(rfc3339(t)),
    }
}

fn iso_date(date: &NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn rfc3339(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The date as an Excel date, None outside the years Excel can show (1900 to 9999).
fn excel_date(date: &NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(date.year()).ok()?;
    ExcelDateTime::from_ymd(year, date.month() as u8, date.day() as u8).ok()
}

fn excel_datetime(time: &NaiveDateTime) -> Option<ExcelDateTime> {
    excel_date(&time.date())?
        .and_hms(time.hour() as u16, time.minute() as u8, time.second())
        .ok()
}

/// Characters a cell takes on screen, to size its column.
fn display_chars(cell: &Cell) -> usize {
    match cell {
        Cell::Empty => 0,
        Cell::Text(text) => text.lines().map(|l| l.chars().count()).max().unwrap_or(0),
        Cell::Int(i) => i.to_string().len(),
        Cell::Number(n) => float_text(*n).len(),
        Cell::Bool(_) => 5,
        Cell::Date(_) => 10,
        Cell::DateTime(_) => 16,
    }
}

/// Text cut to what an Excel cell holds: refusing the whole export over one long note would
/// help nobody.
fn truncated(text: &str) -> &str {
    match text.char_indices().nth(XLSX_MAX_CELL_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn column_number(index: usize) -> Result<u16, XlsxError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

/// A sheet name Excel accepts: at most 31 characters, none of []:*?/\, not starting or ending
/// with an apostrophe, not blank.
fn sheet_title(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let cut: String = cleaned
        .trim()
        .trim_matches('\'')
        .chars()
        .take(SHEET_NAME_MAX_CHARS)
        .collect();
    let cut = cut.trim().trim_matches('\'');
    if cut.is_empty() {
        "Sheet1".to_string()
    } else {
        cut.to_string()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::read::{read, ReadLimits, Sheet};

    fn every_cell() -> Vec<Cell> {
        vec![
            Cell::Text("Élodie, \"la\" cheffe".into()),
            Cell::Int(33_612_345_678),
            Cell::Number(1.25),
            Cell::Bool(true),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()),
            Cell::DateTime(Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap()),
            Cell::Empty,
            Cell::Text("=1+1".into()),
        ]
    }

    const HEADERS: [&str; 8] = [
        "Prénom", "Mobile", "Note", "Présent", "Date", "Créneau", "Vide", "Formule",
    ];

    fn write(format: WriterFormat, rows: &[Vec<Cell>]) -> Vec<u8> {
        let mut writer = Writer::new(format, "Participants", &HEADERS).unwrap();
        for row in rows {
            writer.write_row(row).unwrap();
        }
        assert_eq!(writer.rows(), rows.len() as u64);
        writer.finish().unwrap()
    }

    fn read_back(bytes: &[u8]) -> Sheet {
        read(bytes, None, &ReadLimits::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn csv_round_trip_with_every_cell_type() {
        let bytes = write(WriterFormat::Csv { separator: b';' }, &[every_cell()]);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let sheet = read_back(&bytes);
        assert_eq!(
            sheet.detected,
            crate::Detected::Csv {
                encoding: "utf-8 with BOM".into(),
                separator: ';'
            }
        );
        assert_eq!(sheet.headers, HEADERS);
        assert_eq!(
            sheet.rows[0].cells,
            [
                "Élodie, \"la\" cheffe",
                "33612345678",
                "1.25",
                "true",
                "2026-03-14",
                "2026-03-14T09:30:00Z",
                "",
                "'=1+1",
            ]
        );
        assert_eq!(sheet.rows[0].problem, None);
    }

    #[test]
    fn csv_rows_are_padded_and_cut_to_the_header() {
        let rows = [
            vec![Cell::Text("a".into())],
            (0..12).map(Cell::Int).collect::<Vec<_>>(),
        ];
        let sheet = read_back(&write(WriterFormat::Csv { separator: b',' }, &rows));
        assert_eq!(sheet.rows[0].cells, ["a", "", "", "", "", "", "", ""]);
        assert_eq!(sheet.rows[0].problem, None);
        assert_eq!(
            sheet.rows[1].cells,
            ["0", "1", "2", "3", "4", "5", "6", "7"]
        );
    }

    #[test]
    fn formulas_are_neutralised_in_csv_only_for_text() {
        for formula in [
            "=HYPERLINK(\"x\")",
            "+33 6",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise_formula(formula), format!("'{formula}"));
        }
        for text in ["Dupont", "", "a=b", "'quoted", " =x"] {
            assert!(matches!(neutralise_formula(text), Cow::Borrowed(t) if t == text));
        }
        let rows = [vec![
            Cell::Text("-5".into()),
            Cell::Int(-5),
            Cell::Number(-0.5),
        ]];
        let sheet = read_back(&write(WriterFormat::Csv { separator: b',' }, &rows));
        assert_eq!(sheet.rows[0].cells[..3], ["'-5", "-5", "-0.5"]);
    }

    #[test]
    fn xlsx_round_trip_with_every_cell_type() {
        let bytes = write(WriterFormat::Xlsx, &[every_cell()]);
        let sheet = read_back(&bytes);
        assert_eq!(
            sheet.detected,
            crate::Detected::Xlsx {
                sheet: "Participants".into()
            }
        );
        assert_eq!(sheet.headers, HEADERS);
        assert_eq!(
            sheet.rows[0].cells,
            [
                "Élodie, \"la\" cheffe",
                "33612345678",
                "1.25",
                "true",
                "2026-03-14",
                "2026-03-14T09:30:00",
                "",
                // Text in a cell is never a formula in XLSX: it stays as written.
                "=1+1",
            ]
        );
        assert_eq!(sheet.rows[0].line, 2);
    }

    #[test]
    fn xlsx_streams_past_the_rows_held_for_widths() {
        let rows: Vec<Vec<Cell>> = (0..250)
            .map(|i| vec![Cell::Text(format!("row {i}")), Cell::Int(i)])
            .collect();
        let sheet = read_back(&write(WriterFormat::Xlsx, &rows));
        assert_eq!(sheet.rows.len(), 250);
        for (i, row) in sheet.rows.iter().enumerate() {
            assert_eq!(row.line, i as u64 + 2);
            assert_eq!(row.cells[..2], [format!("row {i}"), i.to_string()]);
        }
    }

    #[test]
    fn xlsx_with_a_header_and_no_rows_is_still_a_file() {
        let bytes = write(WriterFormat::Xlsx, &[]);
        assert_eq!(
            read(&bytes, None, &ReadLimits::default()).err(),
            Some(crate::ReadError::HeaderOnly)
        );
    }

    #[test]
    fn xlsx_keeps_values_excel_cannot_hold_as_numbers_or_dates() {
        let rows = [vec![
            Cell::Text("x".repeat(40_000)),
            Cell::Int(1_234_567_890_123_456_789),
            Cell::Number(f64::NAN),
            Cell::Date(NaiveDate::from_ymd_opt(1850, 1, 2).unwrap()),
        ]];
        let sheet = read_back(&write(WriterFormat::Xlsx, &rows));
        let cells = &sheet.rows[0].cells;
        assert_eq!(cells[0].chars().count(), XLSX_MAX_CELL_CHARS);
        assert_eq!(cells[1], "1234567890123456789");
        assert_eq!(cells[2], "");
        assert_eq!(cells[3], "1850-01-02");
    }

    #[test]
    fn xlsx_refuses_rows_beyond_excel_s_last() {
        let mut writer = Writer::new(WriterFormat::Xlsx, "S", &["a"]).unwrap();
        // Empty cells write nothing, so reaching the limit stays cheap.
        for _ in 0..XLSX_MAX_DATA_ROWS {
            writer.write_row(&[Cell::Empty]).unwrap();
        }
        assert!(matches!(
            writer.write_row(&[Cell::Int(1)]),
            Err(WriteError::TooManyRows { max: 1_048_575 })
        ));
        assert_eq!(writer.rows(), u64::from(XLSX_MAX_DATA_ROWS));
    }

    #[test]
    fn sheet_names_are_made_acceptable_to_excel() {
        assert_eq!(sheet_title("Participants 2026/03"), "Participants 2026-03");
        assert_eq!(sheet_title("[RDV]: a*b?c\\d"), "-RDV-- a-b-c-d");
        assert_eq!(sheet_title("'quoted'"), "quoted");
        assert_eq!(sheet_title("   "), "Sheet1");
        assert_eq!(sheet_title(&"é".repeat(40)).chars().count(), 31);
        let bytes = {
            let writer = Writer::new(WriterFormat::Xlsx, "Rendez-vous: 14/03", &["a"]).unwrap();
            writer.finish().unwrap()
        };
        assert!(matches!(
            read(&bytes, Some("Rendez-vous- 14-03"), &ReadLimits::default()),
            Err(crate::ReadError::HeaderOnly)
        ));
    }

    #[test]
    fn formats_are_named_for_http() {
        let csv = WriterFormat::Csv { separator: b',' };
        assert_eq!(Writer::content_type(csv), "text/csv; charset=utf-8");
        assert_eq!(Writer::extension(csv), "csv");
        assert_eq!(
            Writer::content_type(WriterFormat::Xlsx),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(Writer::extension(WriterFormat::Xlsx), "xlsx");
    }
}
