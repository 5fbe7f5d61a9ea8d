//! The record of processing activities (GDPR art. 30), generated from the registry: one
//! section per table with its purpose, legal basis, categories of data and persons,
//! recipients, retention and what an erasure does. An organizer hands it to their DPO.

use crate::registry::{Erasure, Table, OTHER_STORES, REGISTRY};

/// Who the record is for, and when it was generated.
pub struct Header<'a> {
    pub controller: &'a str,
    pub generated_on: &'a str,
}

fn erasure(t: &Table) -> String {
    match t.erasure {
        Erasure::Delete => "deleted".into(),
        Erasure::Anonymise(cols) => format!(
            "kept without personal data: {} overwritten",
            cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
        ),
        Erasure::Hold { reason, clear: [] } => {
            format!("kept under a legal hold: {reason}")
        }
        Erasure::Hold { reason, clear } => format!(
            "kept under a legal hold ({} cleared): {reason}",
            clear.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The record as Markdown.
pub fn markdown(h: &Header<'_>) -> String {
    let mut out = format!(
        "# Record of processing activities\n\n\
         Controller: {}. Processor: the rdv platform, on the controller's behalf.\n\
         Generated on {} from the platform's registry of personal data.\n\n\
         Rights (access, rectification, erasure, restriction, portability, opposition, \
         consent withdrawal) are answered within one month, erasure within 10 days. \
         Every read of personal data by staff and every bulk operation is recorded in the \
         audit log.\n",
        h.controller, h.generated_on
    );
    for t in REGISTRY {
        out.push_str(&format!(
            "\n## {name}\n\n\
             - Purpose: {purpose}\n\
             - Legal basis: {basis}\n\
             - Categories of data: {data}\n\
             - Categories of persons: {subjects}\n\
             - Recipients: {recipients}\n\
             - Retention: {retention}\n\
             - On erasure: {erasure}\n",
            name = t.name,
            purpose = t.purpose,
            basis = t.legal_basis.as_str().replace('_', " "),
            data = list(t.data),
            subjects = list(t.subjects),
            recipients = list(t.recipients),
            retention = t.retention.described,
            erasure = erasure(t),
        ));
    }
    out.push_str("\n## Outside the tables\n\n");
    for (store, how) in OTHER_STORES {
        out.push_str(&format!("- {store}: {how}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_covers_every_registered_table_and_its_holds() {
        let md = markdown(&Header {
            controller: "Demo Events",
            generated_on: "2026-11-30",
        });
        for t in REGISTRY {
            assert!(md.contains(&format!("## {}\n", t.name)), "{}", t.name);
        }
        assert!(md.contains("Controller: Demo Events."));
        assert!(md.contains("kept under a legal hold"));
        assert!(md.contains("36 months after the end of the event"));
    }
}
