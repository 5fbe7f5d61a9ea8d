//! `read` is handed whatever an organizer uploads: whatever the bytes, it answers Ok or Err and
//! never panics.

// Helpers outside #[test] functions build fixtures: a failure there is a broken test.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

use proptest::prelude::*;
use rdv_io::{read, Cell, ReadLimits, Writer, WriterFormat};

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES=10000 for a longer hunt.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

/// A small valid workbook, as the exports write them, to mutate.
fn valid_xlsx() -> &'static [u8] {
    static XLSX: OnceLock<Vec<u8>> = OnceLock::new();
    XLSX.get_or_init(|| {
        let mut writer = Writer::new(
            WriterFormat::Xlsx,
            "Inscrits",
            &["Prénom", "Nom", "Email", "Quota", "Date"],
        )
        .unwrap();
        for i in 0..5 {
            writer
                .write_row(&[
                    Cell::Text(format!("Élodie {i}")),
                    Cell::Text("Dupont".into()),
                    Cell::Text(format!("e{i}@example.fr")),
                    Cell::Int(i),
                    Cell::Date(chrono::NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()),
                ])
                .unwrap();
        }
        writer.finish().unwrap()
    })
}

/// The entries of the valid workbook, unpacked, so that mutations reach the XML that calamine
/// parses instead of stopping at the zip's checksums.
fn valid_entries() -> &'static [(String, Vec<u8>)] {
    static ENTRIES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut archive = zip::ZipArchive::new(Cursor::new(valid_xlsx())).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).unwrap();
                (entry.name().to_string(), content)
            })
            .collect()
    })
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn limits() -> ReadLimits {
    // Small limits so that the limit paths are exercised too.
    ReadLimits {
        max_rows: 50,
        max_cell_chars: 300,
        max_columns: 20,
        ..ReadLimits::default()
    }
}

#[test]
fn the_valid_workbook_reads() {
    let sheet = read(valid_xlsx(), None, &limits()).unwrap();
    assert_eq!(sheet.rows.len(), 5);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read(&bytes, None, &limits());
    }

    #[test]
    fn text_like_bytes(
        bytes in proptest::collection::vec(
            prop_oneof![
                Just(b','), Just(b';'), Just(b'\t'), Just(b'"'), Just(b'\n'), Just(b'\r'),
                Just(b' '), 0x20u8..0x7f, 0x80u8..=0xff,
            ],
            0..4096,
        ),
        bom in prop_oneof![Just(&b""[..]), Just(&b"\xEF\xBB\xBF"[..]), Just(&b"\xFF\xFE"[..]), Just(&b"\xFE\xFF"[..])],
    ) {
        let mut input = bom.to_vec();
        input.extend_from_slice(&bytes);
        if let Ok(sheet) = read(&input, None, &limits()) {
            for row in &sheet.rows {
                prop_assert_eq!(row.cells.len(), sheet.headers.len());
            }
        }
    }

    #[test]
    fn bytes_after_the_zip_signature(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut input = b"PK\x03\x04".to_vec();
        input.extend_from_slice(&bytes);
        let _ = read(&input, None, &limits());
    }

    #[test]
    fn mutated_workbooks(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        sheet in proptest::option::of("[A-Za-z]{0,8}"),
    ) {
        let mut input = valid_xlsx().to_vec();
        for (at, byte) in flips {
            let at = at.index(input.len());
            input[at] = byte;
        }
        if let Some(cut) = cut {
            input.truncate(cut.index(input.len()).max(4));
        }
        if let Ok(sheet) = read(&input, sheet.as_deref(), &limits()) {
            for row in &sheet.rows {
                prop_assert_eq!(row.cells.len(), sheet.headers.len());
            }
        }
    }

    #[test]
    fn mutated_workbook_xml(
        entry in any::<prop::sample::Index>(),
        flips in proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop_oneof![
                    Just(b'<'), Just(b'>'), Just(b'"'), Just(b'/'), Just(b'='), Just(b'0'),
                    Just(b'9'), Just(b'A'), Just(b'Z'), Just(b'&'), any::<u8>(),
                ],
            ),
            1..8,
        ),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut entries = valid_entries().to_vec();
        let entry = entry.index(entries.len());
        let content = &mut entries[entry].1;
        if !content.is_empty() {
            for (at, byte) in flips {
                let at = at.index(content.len());
                content[at] = byte;
            }
            if let Some(cut) = cut {
                content.truncate(cut.index(content.len()));
            }
        }
        let input = zip_of(&entries);
        if let Ok(sheet) = read(&input, None, &limits()) {
            for row in &sheet.rows {
                prop_assert_eq!(row.cells.len(), sheet.headers.len());
            }
        }
    }
}
