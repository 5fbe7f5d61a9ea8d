//! Spreadsheet files in and out: CSV and XLSX bytes read into rows, headers recognised as import
//! fields, and CSV or XLSX exports written row by row. No database or network I/O happens here.

pub mod mapping;
pub mod read;
pub mod write;

pub use mapping::{map_headers, normalise_header, Field, Kind};
pub use read::{read, Detected, ReadError, ReadLimits, Row, Sheet};
pub use write::neutralise_formula;
pub use write::{Cell, WriteError, Writer, WriterFormat};
