//! XLSX workbooks: the zip is vetted (is it a workbook, how big does it unpack) before calamine
//! parses it, then one sheet's cells are streamed into rows.

use std::collections::btree_map::{BTreeMap, Entry};
use std::io::{Cursor, Read};

use calamine::{DataRef, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx, XlsxError};
use chrono::NaiveTime;

use super::{
    build_headers, float_text, is_blank, place_row, Detected, RawCell, ReadError, ReadLimits, Sheet,
};

/// An entry that unpacks to more than this may not be compressed more than `MAX_RATIO` times.
const RATIO_MIN_BYTES: u64 = 1024 * 1024;
const MAX_RATIO: u64 = 200;
/// The last serial number Excel shows as a date: 9999-12-31.
const LAST_EXCEL_DATE: f64 = 2_958_465.0;
const SECONDS_PER_DAY: f64 = 86_400.0;

pub(super) fn read_xlsx(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &ReadLimits,
) -> Result<Sheet, ReadError> {
    vet_zip(bytes, limits)?;
    // calamine parses XML written by whoever made the file. Should a malformed workbook trip a
    // panic inside it, the organizer gets "damaged" rather than the request failing.
    std::panic::catch_unwind(|| read_workbook(bytes, sheet, limits)).unwrap_or_else(|_| {
        Err(ReadError::NotSpreadsheet(
            "the workbook is damaged".to_string(),
        ))
    })
}

/// Refuses what is not an XLSX, and what would unpack to too much: the declared sizes first
/// (cheap), then the sizes really unpacked, since the declared ones are the archive's own word.
fn vet_zip(bytes: &[u8], limits: &ReadLimits) -> Result<(), ReadError> {
    let bomb = ReadError::ZipBomb {
        max: limits.max_unzipped_bytes,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;

    let mut declared: u64 = 0;
    let mut seen = Seen::default();
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(damaged)?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_unzipped_bytes
            || too_compressed(entry.size(), entry.compressed_size())
        {
            return Err(bomb);
        }
        seen.note(entry.name());
    }
    seen.check()?;

    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(damaged)?;
        let compressed = entry.compressed_size();
        let allowed = limits.max_unzipped_bytes.saturating_sub(unpacked);
        let size = std::io::copy(
            &mut Read::take(&mut entry, allowed.saturating_add(1)),
            &mut std::io::sink(),
        )
        .map_err(damaged)?;
        unpacked = unpacked.saturating_add(size);
        if unpacked > limits.max_unzipped_bytes || too_compressed(size, compressed) {
            return Err(bomb);
        }
    }
    Ok(())
}

fn damaged<E>(_: E) -> ReadError {
    ReadError::NotSpreadsheet("the file looks like a zip archive but is damaged".to_string())
}

fn too_compressed(size: u64, compressed: u64) -> bool {
    size > RATIO_MIN_BYTES && size / compressed.max(1) > MAX_RATIO
}

/// What the zip's entry names say the file is.
#[derive(Default)]
struct Seen {
    workbook: bool,
    binary_workbook: bool,
    opendocument: bool,
    word: bool,
}

impl Seen {
    fn note(&mut self, name: &str) {
        match name {
            "xl/workbook.xml" => self.workbook = true,
            "xl/workbook.bin" => self.binary_workbook = true,
            "mimetype" | "content.xml" => self.opendocument = true,
            _ if name.starts_with("word/") => self.word = true,
            _ => {}
        }
    }

    fn check(&self) -> Result<(), ReadError> {
        let reason = if self.workbook {
            return Ok(());
        } else if self.binary_workbook {
            "binary Excel workbooks (.xlsb) are not supported: save it as .xlsx or CSV"
        } else if self.opendocument {
            "OpenDocument spreadsheets are not supported: save it as .xlsx or CSV"
        } else if self.word {
            "it is a Word document, not a spreadsheet"
        } else {
            "it is a zip archive, not an Excel workbook"
        };
        Err(ReadError::NotSpreadsheet(reason.to_string()))
    }
}

fn read_workbook(
    bytes: &[u8],
    wanted: Option<&str>,
    limits: &ReadLimits,
) -> Result<Sheet, ReadError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| cannot_read(&e))?;
    let name = choose_sheet(workbook.sheets_metadata(), wanted)?;
    let mut reader = workbook
        .worksheet_cells_reader(&name)
        .map_err(|e| match e {
            XlsxError::NotAWorksheet(_) => {
                ReadError::NotSpreadsheet(format!("the sheet \"{name}\" holds no table of cells"))
            }
            e => cannot_read(&e),
        })?;
    // Cells are streamed rather than read with `worksheet_range`, which allocates the whole
    // rectangle between the first and the last cell: two cells at A1 and XFD1048576 would ask
    // for seventeen billion of them.
    let mut grid = Grid::default();
    while let Some(cell) = reader.next_cell().map_err(|e| cannot_read(&e))? {
        if let Some(value) = cell_value(cell.get_value()) {
            let (row, column) = cell.get_position();
            grid.add(row, column, value, limits)?;
        }
    }
    let (headers, rows) = grid.into_rows(limits)?;
    Ok(Sheet {
        detected: Detected::Xlsx { sheet: name },
        headers,
        rows,
    })
}

fn cannot_read(error: &XlsxError) -> ReadError {
    ReadError::NotSpreadsheet(format!("the workbook is damaged ({error})"))
}

/// The named sheet (exactly, else ignoring case and surrounding spaces), or the first visible
/// worksheet: templates often hide a first sheet of lookup lists.
fn choose_sheet(sheets: &[calamine::Sheet], wanted: Option<&str>) -> Result<String, ReadError> {
    let found = match wanted {
        Some(wanted) => {
            let folded = wanted.trim().to_lowercase();
            sheets
                .iter()
                .find(|s| s.name == wanted)
                .or_else(|| {
                    sheets
                        .iter()
                        .find(|s| s.name.trim().to_lowercase() == folded)
                })
                .ok_or_else(|| ReadError::NoSuchSheet {
                    name: wanted.to_string(),
                    sheets: sheets.iter().map(|s| s.name.clone()).collect(),
                })?
        }
        None => sheets
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
            .or_else(|| sheets.iter().find(|s| s.typ == SheetType::WorkSheet))
            .or_else(|| sheets.first())
            .ok_or_else(|| ReadError::NotSpreadsheet("the workbook has no sheets".to_string()))?,
    };
    Ok(found.name.clone())
}

/// A cell's value as text, or None when it is empty or blank.
fn cell_value(value: &DataRef<'_>) -> Option<RawCell> {
    let text = match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) => datetime_text(dt),
        DataRef::Error(_) => return Some(RawCell::Error),
        DataRef::Empty => return None,
    };
    (!is_blank(&text)).then_some(RawCell::Text(text))
}

/// A date cell as ISO 8601: "2026-03-14" at midnight, "2026-03-14T09:30:00" otherwise, "09:30:00"
/// for a time of day alone, "36:00:00" for a duration.
fn datetime_text(dt: &ExcelDateTime) -> String {
    let serial = dt.as_f64();
    if dt.is_duration() {
        return duration_text(serial);
    }
    if (0.0..1.0).contains(&serial) {
        // Times of day are serials below 1, which calamine would date in 1899.
        let seconds = ((serial * SECONDS_PER_DAY).round() as u32).min(86_399);
        return format!(
            "{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    // `as_datetime` panics on serials far beyond Excel's range; a cell out there shows its number.
    if !(1.0..=LAST_EXCEL_DATE + 1.0).contains(&serial) {
        return float_text(serial);
    }
    match dt.as_datetime() {
        Some(t) if t.time() == NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => float_text(serial),
    }
}

fn duration_text(days: f64) -> String {
    let seconds = (days * SECONDS_PER_DAY).round();
    if !seconds.is_finite() || seconds.abs() > 1e15 {
        return float_text(days);
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let seconds = seconds.abs() as u64;
    format!(
        "{sign}{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The non-blank cells of a sheet by row, kept sparse.
#[derive(Default)]
struct Grid {
    rows: BTreeMap<u32, GridRow>,
    /// The leftmost column holding anything: column 1 of the table, as calamine's ranges do.
    first_column: Option<u32>,
}

struct GridRow {
    cells: Vec<(u32, RawCell)>,
    last_filled: u32,
}

impl Grid {
    fn add(
        &mut self,
        row: u32,
        column: u32,
        value: RawCell,
        limits: &ReadLimits,
    ) -> Result<(), ReadError> {
        let first = self.first_column.map_or(column, |c| c.min(column));
        self.first_column = Some(first);
        let rows = self.rows.len();
        let entry = match self.rows.entry(row) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                // The header row is one of them.
                if rows > limits.max_rows {
                    return Err(ReadError::TooManyRows {
                        max: limits.max_rows,
                    });
                }
                entry.insert(GridRow {
                    cells: Vec::new(),
                    last_filled: column,
                })
            }
        };
        entry.last_filled = entry.last_filled.max(column);
        // A cell further right than any header can reach is only counted, not kept: memory
        // stays within rows × columns allowed however wide the sheet claims to be.
        let reach = u32::try_from(limits.max_columns).unwrap_or(u32::MAX);
        if column <= first.saturating_add(reach) {
            entry.cells.push((column, value));
        }
        Ok(())
    }

    /// The header (the first row holding anything) and the data rows under it.
    fn into_rows(self, limits: &ReadLimits) -> Result<(Vec<String>, Vec<super::Row>), ReadError> {
        let first = self.first_column.unwrap_or(0);
        let mut rows = self.rows.into_iter();
        let Some((_, header)) = rows.next() else {
            return Err(ReadError::Empty);
        };
        let header_width = (header.last_filled - first) as usize + 1;
        if header_width > limits.max_columns {
            return Err(ReadError::TooManyColumns {
                max: limits.max_columns,
            });
        }
        let mut raw = vec![String::new(); header_width];
        for (column, value) in header.cells {
            if let (Some(slot), RawCell::Text(text)) =
                (raw.get_mut((column - first) as usize), value)
            {
                *slot = text;
            }
        }
        let headers = build_headers(raw, limits)?;

        let mut out = Vec::new();
        for (index, row) in rows {
            let cells = row
                .cells
                .into_iter()
                .map(|(column, value)| ((column - first) as usize, value));
            let last = Some((row.last_filled - first) as usize);
            let line = u64::from(index) + 1;
            if let Some(row) = place_row(line, cells, last, headers.len(), false, limits) {
                if out.len() >= limits.max_rows {
                    return Err(ReadError::TooManyRows {
                        max: limits.max_rows,
                    });
                }
                out.push(row);
            }
        }
        if out.is_empty() {
            return Err(ReadError::HeaderOnly);
        }
        Ok((headers, out))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;
    use crate::read::{read, Row};

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, content) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// A hand-made workbook: only what calamine needs, so that tests can put in it what the
    /// writer never would (error cells, far-away cells, several sheets).
    fn workbook_of(sheets: &[(&str, &str)]) -> Vec<u8> {
        let sheets: Vec<(&str, String)> = sheets
            .iter()
            .map(|(name, cells)| (*name, format!("<sheetData>{cells}</sheetData>")))
            .collect();
        let sheets: Vec<(&str, &str)> = sheets.iter().map(|(n, x)| (*n, x.as_str())).collect();
        workbook_with_sheet_xml(&sheets)
    }

    /// Same, with the whole inside of each `<worksheet>` given.
    fn workbook_with_sheet_xml(sheets: &[(&str, &str)]) -> Vec<u8> {
        let mut workbook = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
        );
        let mut rels = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        let mut parts = Vec::new();
        for (index, (name, inside)) in sheets.iter().enumerate() {
            let n = index + 1;
            let state = if name.starts_with("hidden") {
                r#" state="hidden""#
            } else {
                ""
            };
            workbook.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{n}"{state} r:id="rId{n}"/>"#
            ));
            rels.push_str(&format!(
                r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
            ));
            parts.push((
                format!("xl/worksheets/sheet{n}.xml"),
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{inside}</worksheet>"#
                ),
            ));
        }
        workbook.push_str("</sheets></workbook>");
        rels.push_str("</Relationships>");
        let mut entries: Vec<(&str, &[u8])> = vec![
            ("xl/workbook.xml", workbook.as_bytes()),
            ("xl/_rels/workbook.xml.rels", rels.as_bytes()),
        ];
        for (name, xml) in &parts {
            entries.push((name, xml.as_bytes()));
        }
        zip_of(&entries)
    }

    fn inline(cell: &str, text: &str) -> String {
        format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
    }

    fn limits() -> ReadLimits {
        ReadLimits::default()
    }

    fn not_spreadsheet_reason(bytes: &[u8]) -> String {
        match read(bytes, None, &limits()) {
            Err(ReadError::NotSpreadsheet(reason)) => reason,
            other => panic!("expected NotSpreadsheet, got {other:?}"),
        }
    }

    #[test]
    fn old_excel_files_are_named() {
        let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
        bytes.resize(4096, 0);
        assert_eq!(
            read(&bytes, None, &limits()).err(),
            Some(ReadError::OldExcel)
        );
        assert_eq!(
            ReadError::OldExcel.to_string(),
            "the file is an old Excel workbook (.xls): save it as .xlsx or CSV"
        );
    }

    #[test]
    fn a_zip_without_a_workbook_is_not_a_spreadsheet() {
        let bytes = zip_of(&[("notes.txt", b"hello")]);
        assert_eq!(
            not_spreadsheet_reason(&bytes),
            "it is a zip archive, not an Excel workbook"
        );
        let bytes = zip_of(&[("word/document.xml", b"<w/>")]);
        assert_eq!(
            not_spreadsheet_reason(&bytes),
            "it is a Word document, not a spreadsheet"
        );
    }

    #[test]
    fn an_opendocument_spreadsheet_is_named() {
        let bytes = zip_of(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(
            not_spreadsheet_reason(&bytes),
            "OpenDocument spreadsheets are not supported: save it as .xlsx or CSV"
        );
    }

    #[test]
    fn garbage_after_the_zip_signature_is_damaged() {
        let reason = not_spreadsheet_reason(b"PK\x03\x04this is not really a zip");
        assert_eq!(reason, "the file looks like a zip archive but is damaged");
    }

    #[test]
    fn a_zip_bomb_is_refused_before_unpacking() {
        let zeros = vec![0u8; 20 * 1024 * 1024];
        let bytes = zip_of(&[("xl/workbook.xml", b"<workbook/>"), ("xl/big.xml", &zeros)]);
        assert!(bytes.len() < 200 * 1024, "{} bytes", bytes.len());
        let limits = ReadLimits {
            max_unzipped_bytes: 10 * 1024 * 1024,
            ..ReadLimits::default()
        };
        assert_eq!(
            read(&bytes, None, &limits).err(),
            Some(ReadError::ZipBomb {
                max: 10 * 1024 * 1024
            })
        );
        // Within the size limit, the compression ratio (about 1000:1) still gives it away.
        assert_eq!(
            read(&bytes, None, &ReadLimits::default()).err(),
            Some(ReadError::ZipBomb {
                max: 500 * 1024 * 1024
            })
        );
    }

    #[test]
    fn cells_are_read_under_the_first_non_empty_row() {
        let cells = [
            r#"<row r="2">"#.to_string(),
            inline("B2", "Nom"),
            inline("C2", "Montant"),
            inline("D2", "Payé"),
            "</row><row r=\"3\">".into(),
            inline("B3", "Dupont"),
            r#"<c r="C3"><v>1.5</v></c><c r="D3" t="b"><v>1</v></c>"#.into(),
            "</row><row r=\"5\">".into(),
            inline("B5", "Martin"),
            r#"<c r="C5"><v>33612345678</v></c><c r="D5" t="e"><v>#N/A</v></c>"#.into(),
            "</row>".into(),
        ]
        .concat();
        let sheet = read(&workbook_of(&[("Feuil1", &cells)]), None, &limits())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sheet.detected,
            Detected::Xlsx {
                sheet: "Feuil1".into()
            }
        );
        assert_eq!(sheet.headers, ["Nom", "Montant", "Payé"]);
        assert_eq!(
            sheet.rows,
            [
                Row {
                    line: 3,
                    cells: vec!["Dupont".into(), "1.5".into(), "true".into()],
                    problem: None
                },
                Row {
                    line: 5,
                    cells: vec!["Martin".into(), "33612345678".into(), "".into()],
                    problem: Some("cell 3 holds a spreadsheet error".into())
                },
            ]
        );
    }

    #[test]
    fn a_cell_at_the_far_corner_does_not_exhaust_memory() {
        let cells = [
            r#"<row r="1">"#.to_string(),
            inline("A1", "Nom"),
            r#"</row><row r="2">"#.into(),
            inline("A2", "Dupont"),
            r#"</row><row r="1048576">"#.into(),
            inline("XFD1048576", "far"),
            "</row>".into(),
        ]
        .concat();
        let sheet =
            read(&workbook_of(&[("S", &cells)]), None, &limits()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sheet.headers, ["Nom"]);
        assert_eq!(
            sheet.rows[1],
            Row {
                line: 1_048_576,
                cells: vec!["".into()],
                problem: Some("the row has 16384 cells, the header 1".into())
            }
        );
    }

    #[test]
    fn a_backwards_dimension_does_not_bring_the_caller_down() {
        // calamine 0.30 subtracts the corners of <dimension> unchecked: with overflow checks on,
        // "B2:A1" panics inside it (found by tests/fuzz.rs).
        let inside = [
            r#"<dimension ref="B2:A1"/><sheetData><row r="1">"#,
            &inline("A1", "Nom"),
            r#"</row><row r="2">"#,
            &inline("A2", "Dupont"),
            "</row></sheetData>",
        ]
        .concat();
        let result = read(&workbook_with_sheet_xml(&[("S", &inside)]), None, &limits());
        assert!(
            matches!(&result, Ok(_) | Err(ReadError::NotSpreadsheet(_))),
            "{result:?}"
        );
    }

    #[test]
    fn sheets_are_chosen_by_name_or_the_first_visible() {
        let first = [
            "<row r=\"1\">",
            &inline("A1", "Liste"),
            "</row><row r=\"2\">",
            &inline("A2", "x"),
            "</row>",
        ]
        .concat();
        let second = [
            "<row r=\"1\">",
            &inline("A1", "Nom"),
            "</row><row r=\"2\">",
            &inline("A2", "Dupont"),
            "</row>",
        ]
        .concat();
        let bytes = workbook_of(&[("hidden lists", &first), ("Inscrits", &second)]);
        let sheet = read(&bytes, None, &limits()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sheet.headers, ["Nom"]);
        let sheet = read(&bytes, Some(" INSCRITS"), &limits()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sheet.detected,
            Detected::Xlsx {
                sheet: "Inscrits".into()
            }
        );
        let sheet = read(&bytes, Some("hidden lists"), &limits()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sheet.headers, ["Liste"]);
        assert_eq!(
            read(&bytes, Some("Feuil3"), &limits()).err(),
            Some(ReadError::NoSuchSheet {
                name: "Feuil3".into(),
                sheets: vec!["hidden lists".into(), "Inscrits".into()]
            })
        );
    }

    #[test]
    fn empty_and_header_only_sheets() {
        let bytes = workbook_of(&[("S", "")]);
        assert_eq!(read(&bytes, None, &limits()).err(), Some(ReadError::Empty));
        let cells = ["<row r=\"1\">", &inline("A1", "Nom"), "</row>"].concat();
        let bytes = workbook_of(&[("S", &cells)]);
        assert_eq!(
            read(&bytes, None, &limits()).err(),
            Some(ReadError::HeaderOnly)
        );
    }

    #[test]
    fn too_many_rows_in_a_sheet() {
        let mut cells = String::new();
        for r in 1..=5 {
            cells.push_str(&format!(
                "<row r=\"{r}\">{}</row>",
                inline(&format!("A{r}"), "x")
            ));
        }
        let bytes = workbook_of(&[("S", &cells)]);
        let limits = ReadLimits {
            max_rows: 3,
            ..ReadLimits::default()
        };
        assert_eq!(
            read(&bytes, None, &limits).err(),
            Some(ReadError::TooManyRows { max: 3 })
        );
    }

    #[test]
    fn dates_and_durations_as_text() {
        let date = ExcelDateTime::new(46095.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&date), "2026-03-14");
        let date = ExcelDateTime::new(
            46095.0 + 9.5 / 24.0,
            calamine::ExcelDateTimeType::DateTime,
            false,
        );
        assert_eq!(datetime_text(&date), "2026-03-14T09:30:00");
        let time = ExcelDateTime::new(9.5 / 24.0, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&time), "09:30:00");
        let far = ExcelDateTime::new(-1e300, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(datetime_text(&far), float_text(-1e300));
        let duration = ExcelDateTime::new(1.5, calamine::ExcelDateTimeType::TimeDelta, false);
        assert_eq!(datetime_text(&duration), "36:00:00");
    }
}
