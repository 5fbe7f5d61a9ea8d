//! CSV and other delimited text: the encoding and the separator are guessed, then the csv crate
//! splits the records and the rows are placed under the header.

use std::borrow::Cow;

use ::csv::{ByteRecord, Reader, ReaderBuilder, StringRecord};
use encoding_rs::{UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use super::{build_headers, is_blank, place_row, Detected, RawCell, ReadError, ReadLimits, Sheet};

/// The separators tried, in the order that wins a tie of equal merit.
const SEPARATORS: [u8; 3] = [b',', b';', b'\t'];
/// How many records the separator guess looks at.
const SAMPLE_RECORDS: usize = 20;
/// Appended after `"\n"` to the text so that the csv crate itself tells whether the text ended
/// inside a quoted cell (see `read_csv`). The noncharacters keep it out of real files.
const SENTINEL: &str = "\u{FDD0}rdv-io end of text\u{FDD0}";

pub(super) fn read_csv(bytes: &[u8], limits: &ReadLimits) -> Result<Sheet, ReadError> {
    let (text, encoding) = decode(bytes)?;
    if is_blank(&text) {
        return Err(ReadError::Empty);
    }
    let separator = detect_separator(&text);

    // The csv crate accepts a quote that is never closed and hands the rest of the file over as
    // one cell. To notice, append `\n"\n` and the sentinel: if the text ended inside quotes, the
    // `"` closes that cell and the sentinel comes out as a record of its own; otherwise the `"`
    // opens a new cell that swallows the sentinel, so no record equals it.
    let mut input = text.into_owned();
    input.push_str("\n\"\n");
    input.push_str(SENTINEL);
    input.push('\n');

    let mut reader = csv_reader(separator, input.as_bytes());
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    // Each record is handled once the next one is known not to be the sentinel's artefact.
    let mut pending: Option<StringRecord> = None;
    let mut pending_line = 0;
    let mut last_line = 0;
    let mut lines = LineCounter::default();
    loop {
        let mut record = StringRecord::new();
        let more = reader.read_record(&mut record).map_err(|e| bad_csv(&e))?;
        if !more {
            break;
        }
        let start = record.position().map_or(0, |p| p.byte());
        let line = lines.line_at(
            input.as_bytes(),
            usize::try_from(start).unwrap_or(usize::MAX),
        );
        if let Some(previous) = pending.replace(record) {
            last_line = pending_line;
            handle_record(previous, pending_line, &mut headers, &mut rows, limits)?;
        }
        pending_line = line;
    }
    if pending.is_some_and(|last| last.len() == 1 && &last[0] == SENTINEL) {
        return Err(ReadError::BadCsv {
            line: last_line,
            reason: "a quote opened in this row is never closed".to_string(),
        });
    }

    let headers = headers.ok_or(ReadError::Empty)?;
    if rows.is_empty() {
        return Err(ReadError::HeaderOnly);
    }
    Ok(Sheet {
        detected: Detected::Csv {
            encoding: encoding.to_string(),
            separator: char::from(separator),
        },
        headers,
        rows,
    })
}

/// The line a record starts on. The csv crate's own position is where the reader stood before
/// the record: before the blank lines it skips, and before the LF of a CRLF.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    /// `start` only grows from one call to the next.
    fn line_at(&mut self, input: &[u8], start: usize) -> u64 {
        let skipped = input.get(start..).map_or(0, |rest| {
            rest.iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count()
        });
        let start = start.saturating_add(skipped).min(input.len());
        if let Some(passed) = input.get(self.offset..start) {
            // A CR alone ends a line too: old Mac Excel wrote "CSV (Macintosh)" that way.
            let next = input.get(start).copied();
            let after = passed.iter().skip(1).copied().map(Some).chain([next]);
            self.newlines += passed
                .iter()
                .zip(after)
                .filter(|&(&b, after)| b == b'\n' || (b == b'\r' && after != Some(b'\n')))
                .count() as u64;
            self.offset = start;
        }
        self.newlines + 1
    }
}

fn handle_record(
    record: StringRecord,
    line: u64,
    headers: &mut Option<Vec<String>>,
    rows: &mut Vec<super::Row>,
    limits: &ReadLimits,
) -> Result<(), ReadError> {
    match headers {
        None => {
            if !record.iter().all(is_blank) {
                *headers = Some(build_headers(
                    record.iter().map(str::to_string).collect(),
                    limits,
                )?);
            }
        }
        Some(headers) => {
            let cells = record
                .iter()
                .enumerate()
                .map(|(i, field)| (i, RawCell::Text(field.to_string())));
            if let Some(row) = place_row(line, cells, None, headers.len(), true, limits) {
                if rows.len() >= limits.max_rows {
                    return Err(ReadError::TooManyRows {
                        max: limits.max_rows,
                    });
                }
                rows.push(row);
            }
        }
    }
    Ok(())
}

/// Decodes the bytes and names the encoding found. Files without a BOM are UTF-8 when they are
/// valid UTF-8, otherwise Windows-1252: what French Excel writes for "CSV (separator: semicolon)".
fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), ReadError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok((UTF_8.decode_without_bom_handling(rest).0, "utf-8 with BOM"));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return Ok((UTF_16LE.decode_without_bom_handling(rest).0, "utf-16le"));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return Ok((UTF_16BE.decode_without_bom_handling(rest).0, "utf-16be"));
    }
    // No text format an organizer exports holds NUL bytes outside UTF-16, which has its BOM.
    if bytes.contains(&0) {
        return Err(ReadError::NotText);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((Cow::Borrowed(text), "utf-8")),
        Err(_) => Ok((
            WINDOWS_1252.decode_without_bom_handling(bytes).0,
            "windows-1252",
        )),
    }
}

/// Picks the separator whose first records most often have the header's column count, the header
/// having at least two columns; ties go to the wider header. A file that no separator splits is
/// read with ',' as a single column.
fn detect_separator(text: &str) -> u8 {
    let mut best: Option<(usize, usize, u8)> = None;
    for separator in SEPARATORS {
        let mut reader = csv_reader(separator, text.as_bytes());
        let mut record = ByteRecord::new();
        let mut counts = Vec::with_capacity(SAMPLE_RECORDS);
        while counts.len() < SAMPLE_RECORDS {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    if !record.iter().all(|f| f.trim_ascii().is_empty()) {
                        counts.push(record.len());
                    }
                }
                Ok(false) | Err(_) => break,
            }
        }
        let Some(&header) = counts.first() else {
            continue;
        };
        if header < 2 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == header).count();
        if best.is_none_or(|(c, h, _)| (consistent, header) > (c, h)) {
            best = Some((consistent, header, separator));
        }
    }
    best.map_or(b',', |(_, _, separator)| separator)
}

fn csv_reader(separator: u8, input: &[u8]) -> Reader<&[u8]> {
    ReaderBuilder::new()
        .delimiter(separator)
        .flexible(true)
        .has_headers(false)
        .from_reader(input)
}

fn bad_csv(error: &::csv::Error) -> ReadError {
    ReadError::BadCsv {
        line: error.position().map_or(0, |p| p.line()),
        reason: format!("the text cannot be split into cells ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{read, Row};

    fn read_ok(bytes: &[u8]) -> crate::read::Sheet {
        match read(bytes, None, &ReadLimits::default()) {
            Ok(sheet) => sheet,
            Err(e) => panic!("{e}"),
        }
    }

    fn csv_detected(sheet: &crate::read::Sheet) -> (String, char) {
        match &sheet.detected {
            Detected::Csv {
                encoding,
                separator,
            } => (encoding.clone(), *separator),
            other => panic!("not csv: {other:?}"),
        }
    }

    fn row(line: u64, cells: &[&str]) -> Row {
        Row {
            line,
            cells: cells.iter().map(|c| c.to_string()).collect(),
            problem: None,
        }
    }

    #[test]
    fn utf8_with_commas() {
        let sheet = read_ok("Prénom,Nom,Email\nÉlodie,Dupont,e@x.fr\n".as_bytes());
        assert_eq!(csv_detected(&sheet), ("utf-8".into(), ','));
        assert_eq!(sheet.headers, ["Prénom", "Nom", "Email"]);
        assert_eq!(sheet.rows, [row(2, &["Élodie", "Dupont", "e@x.fr"])]);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let sheet = read_ok("\u{FEFF}Nom;Email\r\nDupont;d@x.fr\r\n".as_bytes());
        assert_eq!(csv_detected(&sheet), ("utf-8 with BOM".into(), ';'));
        assert_eq!(sheet.headers, ["Nom", "Email"]);
        assert_eq!(sheet.rows, [row(2, &["Dupont", "d@x.fr"])]);
    }

    #[test]
    fn windows_1252_with_semicolons_as_french_excel_writes_it() {
        // "Société;Prénom" then "Crédit Agricole;Hélène" with é = 0xE9 and è = 0xE8.
        let mut bytes = b"Soci\xE9t\xE9;Pr\xE9nom\r\n".to_vec();
        bytes.extend_from_slice(b"Cr\xE9dit Agricole, Paris;H\xE9l\xE8ne\r\n");
        let sheet = read_ok(&bytes);
        assert_eq!(csv_detected(&sheet), ("windows-1252".into(), ';'));
        assert_eq!(sheet.headers, ["Société", "Prénom"]);
        assert_eq!(sheet.rows, [row(2, &["Crédit Agricole, Paris", "Hélène"])]);
    }

    #[test]
    fn utf16le_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(
            "Nom\tVille\r\nLefèvre\tLyon\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let sheet = read_ok(&bytes);
        assert_eq!(csv_detected(&sheet), ("utf-16le".into(), '\t'));
        assert_eq!(sheet.rows, [row(2, &["Lefèvre", "Lyon"])]);
    }

    #[test]
    fn utf16be_with_bom() {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(
            "Nom,Ville\nLefèvre,Lyon\n"
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        );
        let sheet = read_ok(&bytes);
        assert_eq!(csv_detected(&sheet), ("utf-16be".into(), ','));
        assert_eq!(sheet.rows, [row(2, &["Lefèvre", "Lyon"])]);
    }

    #[test]
    fn tab_separated() {
        let sheet = read_ok(b"Nom\tSoci\xC3\xA9t\xC3\xA9, filiale\tEmail\na\tb, c\td\n");
        assert_eq!(csv_detected(&sheet), ("utf-8".into(), '\t'));
        assert_eq!(sheet.headers, ["Nom", "Société, filiale", "Email"]);
    }

    #[test]
    fn commas_inside_a_semicolon_file_do_not_fool_the_guess() {
        let sheet = read_ok(b"Nom;Adresse;Ville\nA;1, rue X;Lyon\nB;2, rue Y, bis;Paris\n");
        assert_eq!(csv_detected(&sheet).1, ';');
        assert_eq!(sheet.rows[1].cells, ["B", "2, rue Y, bis", "Paris"]);
    }

    #[test]
    fn a_single_column_is_read_with_commas() {
        let sheet = read_ok(b"Email\na@x.fr\nb@x.fr\n");
        assert_eq!(csv_detected(&sheet).1, ',');
        assert_eq!(sheet.headers, ["Email"]);
        assert_eq!(sheet.rows.len(), 2);
    }

    #[test]
    fn ragged_rows_say_what_is_wrong() {
        let sheet = read_ok(b"a,b,c\n1,2\n1,2,3,4\n1,2,3,,\n");
        assert_eq!(
            sheet.rows,
            [
                Row {
                    line: 2,
                    cells: vec!["1".into(), "2".into(), "".into()],
                    problem: Some("the row has 2 cells, the header 3".into()),
                },
                Row {
                    line: 3,
                    cells: vec!["1".into(), "2".into(), "3".into()],
                    problem: Some("the row has 4 cells, the header 3".into()),
                },
                // Trailing empty cells are what Excel writes for formatted columns: no loss.
                row(4, &["1", "2", "3"]),
            ]
        );
    }

    #[test]
    fn lines_end_with_lf_crlf_or_cr_alone() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["Nom,Note", "", "A,\"x", "y\"", "", "B,z", ""].join(eol);
            let sheet = read_ok(text.as_bytes());
            assert_eq!(
                sheet.rows,
                [row(3, &["A", &format!("x{eol}y")]), row(6, &["B", "z"])],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn cells_are_not_trimmed_but_headers_are() {
        let sheet = read_ok(b" Nom , Email \n Dupont ,d@x.fr\n");
        assert_eq!(sheet.headers, ["Nom", "Email"]);
        assert_eq!(sheet.rows[0].cells, [" Dupont ", "d@x.fr"]);
    }

    #[test]
    fn a_ten_megabyte_cell_is_a_row_problem() {
        let mut bytes = b"Nom,Note\nDupont,".to_vec();
        bytes.resize(bytes.len() + 10 * 1024 * 1024, b'x');
        bytes.extend_from_slice(b"\nMartin,ok\n");
        let sheet = read_ok(&bytes);
        assert_eq!(
            sheet.rows,
            [
                Row {
                    line: 2,
                    cells: vec!["Dupont".into(), "".into()],
                    problem: Some("cell 2 is longer than 32767 characters".into()),
                },
                row(3, &["Martin", "ok"]),
            ]
        );
    }

    #[test]
    fn header_only() {
        assert_eq!(
            read(b"Nom;Email\r\n;\r\n\r\n", None, &ReadLimits::default()).err(),
            Some(ReadError::HeaderOnly)
        );
    }

    #[test]
    fn empty_or_blank_files() {
        for bytes in [&b""[..], b"\n\n", b" \r\n \t", b"\xEF\xBB\xBF", b",,,\n,,"] {
            assert_eq!(
                read(bytes, None, &ReadLimits::default()).err(),
                Some(ReadError::Empty),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn blank_lines_are_skipped_and_lines_counted() {
        let sheet = read_ok(b"\nNom,Email\n\n  ,\nA,a@x\n,,\n\nB,\"b\nsuite\"\nC,c@x\n");
        assert_eq!(sheet.headers, ["Nom", "Email"]);
        assert_eq!(
            sheet.rows,
            [
                row(5, &["A", "a@x"]),
                row(8, &["B", "b\nsuite"]),
                row(10, &["C", "c@x"])
            ]
        );
    }

    #[test]
    fn a_quote_never_closed_is_a_bad_csv_at_its_line() {
        let result = read(
            b"Nom,Email\nA,a@x\nB,\"b@x\nC,c@x\nD,d@x\n",
            None,
            &ReadLimits::default(),
        );
        assert_eq!(
            result.err(),
            Some(ReadError::BadCsv {
                line: 3,
                reason: "a quote opened in this row is never closed".into()
            })
        );
        // Without a final newline, and in the header.
        assert!(matches!(
            read(b"Nom,\"Email\nA,a@x", None, &ReadLimits::default()),
            Err(ReadError::BadCsv { line: 1, .. })
        ));
    }

    #[test]
    fn quotes_that_close_are_fine_even_at_the_very_end() {
        let sheet = read_ok(b"Nom,Note\nA,\"dit \"\"oui\"\"\"\nB,5\" screen\nC,\"x\"");
        assert_eq!(
            sheet.rows,
            [
                row(2, &["A", "dit \"oui\""]),
                row(3, &["B", "5\" screen"]),
                row(4, &["C", "x"]),
            ]
        );
    }

    #[test]
    fn a_quote_left_open_for_long_shows_as_a_long_cell() {
        let limits = ReadLimits {
            max_cell_chars: 20,
            ..ReadLimits::default()
        };
        let bytes = b"Nom,Note\nA,\"oops\nB,b\nC,c\nD,d\nE,e\nF,f\nG,\"\nH,h\n";
        let sheet = read(bytes, None, &limits).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sheet.rows[0].problem.as_deref(),
            Some("cell 2 is longer than 20 characters")
        );
        assert_eq!(sheet.rows[1], row(9, &["H", "h"]));
    }

    #[test]
    fn binary_is_not_text() {
        assert_eq!(
            read(
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                None,
                &ReadLimits::default()
            )
            .err(),
            Some(ReadError::NotText)
        );
    }

    #[test]
    fn limits_on_size_and_rows() {
        let limits = ReadLimits {
            max_bytes: 10,
            ..ReadLimits::default()
        };
        assert_eq!(
            read(b"a,b\n1,2\n3,4\n", None, &limits).err(),
            Some(ReadError::TooLarge { max: 10 })
        );
        let limits = ReadLimits {
            max_rows: 2,
            ..ReadLimits::default()
        };
        assert!(read(b"a,b\n1,2\n\n3,4\n", None, &limits).is_ok());
        assert_eq!(
            read(b"a,b\n1,2\n3,4\n5,6\n", None, &limits).err(),
            Some(ReadError::TooManyRows { max: 2 })
        );
    }

    #[test]
    fn duplicate_headers_are_refused() {
        assert_eq!(
            read(b"Email;Nom;email \na;b;c\n", None, &ReadLimits::default()).err(),
            Some(ReadError::DuplicateHeader("email".into()))
        );
    }
}
