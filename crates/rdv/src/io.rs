//! `rdv import` and `rdv export`: the import and export use cases from the command line. An
//! import's passes are jobs of the queue like any other: the command queues them, runs them
//! itself unless a worker takes them first, and shows their progress.

use anyhow::{bail, Context};
use rdv::settings::Settings;
use rdv_app::imports::{self, PassInput, ReportRows, Upload, WriterFormat};
use rdv_db::models::Import;
use rdv_domain::{EventId, ExportKind, ImportStatus};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// The file: CSV (UTF-8 or Windows-1252; `,` `;` or tab) or .xlsx.
    pub file: PathBuf,
    /// What the file holds: persons, prospects, meeting_requests or tables.
    #[arg(long)]
    pub kind: String,
    /// The event to import into (not for prospects).
    #[arg(long)]
    pub event: Option<i64>,
    /// Check every row and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The organizer to act for (default: the first admin of the event's organization).
    #[arg(long = "as", env = "RDV_AS")]
    pub as_email: Option<String>,
    /// The sheet of a workbook (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// The country of national phone numbers (default FR).
    #[arg(long)]
    pub default_country: Option<String>,
    /// The participant type of rows that give none.
    #[arg(long)]
    pub default_participant_type: Option<String>,
    /// Skip persons already in the organization instead of updating them.
    #[arg(long)]
    pub skip_existing: bool,
    /// Write everything in one transaction, or nothing if a row is rejected.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Map a header to a field (`--map "Raison sociale=company"`; `--map "Notes="` ignores
    /// the column); repeatable.
    #[arg(long = "map")]
    pub mapping: Vec<String>,
    /// Write the report (rows skipped or rejected, with why) to this .csv or .xlsx file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

fn app(e: rdv_app::AppError) -> anyhow::Error {
    match &e {
        rdv_app::AppError::Invalid { fields, .. } if !fields.is_empty() => {
            let detail: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            anyhow::anyhow!("{e}: {}", detail.join("; "))
        }
        _ => anyhow::anyhow!("{e}"),
    }
}

pub fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<()> {
    use rdv_db::Connection;
    let url = settings.database.url.expose_secret().to_owned();
    let mut conn = rdv_db::establish(&url).context("cannot connect to PostgreSQL")?;
    let meta = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if meta.len() > settings.imports.max_file_bytes as u64 {
        bail!(
            "{} is larger than the limit of {} bytes (imports.max_file_bytes)",
            args.file.display(),
            settings.imports.max_file_bytes
        );
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let event = args.event.map(EventId);
    let actor =
        imports::command_line_actor(&mut conn, args.as_email.as_deref(), event).map_err(app)?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    let up = Upload {
        kind: args.kind.clone(),
        event,
        file_name,
        sheet: args.sheet.clone(),
        bytes,
    };
    let import = conn
        .transaction(|c| imports::upload(c, &actor, &settings.imports, up))
        .map_err(app)?;
    eprintln!("import {}: read as {}", import.id, import.detected);
    let columns: Vec<imports::Column> = serde_json::from_value(import.mapping.clone())?;
    let mut mapping = std::collections::BTreeMap::new();
    for m in &args.mapping {
        let (h, f) = m
            .split_once('=')
            .with_context(|| format!("--map {m}: write HEADER=FIELD"))?;
        let f = f.trim();
        mapping.insert(h.trim().to_owned(), (!f.is_empty()).then(|| f.to_owned()));
    }
    for c in &columns {
        let field = mapping
            .get(&c.header)
            .cloned()
            .unwrap_or_else(|| c.field.clone());
        eprintln!(
            "  {:<32} -> {}",
            c.header,
            field.as_deref().unwrap_or("(ignored)")
        );
    }
    let input = PassInput {
        mapping: (!mapping.is_empty()).then_some(mapping),
        default_country: args.default_country.clone(),
        default_participant_type: args.default_participant_type.clone(),
        on_existing: args.skip_existing.then(|| "skip".to_owned()),
        all_or_nothing: Some(args.all_or_nothing),
        notify: Some(false),
    };
    let import = conn
        .transaction(|c| {
            if args.dry_run {
                imports::check(c, &actor, import.id, input)
            } else {
                imports::run(c, &actor, import.id, input)
            }
        })
        .map_err(app)?;
    let job = import.job_id.context("the pass has no job")?;
    // Run the job here unless a worker has taken it, again after each retry's wait, until
    // the pass ends (a worker elsewhere may run it instead).
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = {
        let url = url.clone();
        let finished = finished.clone();
        let worker = crate::worker(settings, "import");
        std::thread::Builder::new()
            .name("import".into())
            .spawn(move || -> anyhow::Result<()> {
                let mut conn = rdv_db::establish(&url)?;
                run_until(&worker, &mut conn, job, &finished)
            })?
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} rows ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(if args.dry_run {
        "checking"
    } else {
        "importing"
    });
    let done = loop {
        let now = conn
            .transaction(|c| imports::get(c, &actor, import.id))
            .map_err(app)?;
        let p = &now.progress;
        let n = |k: &str| p.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        bar.set_length(n("rows"));
        bar.set_position(n("read"));
        if !matches!(now.status, ImportStatus::Checking | ImportStatus::Running) {
            break now;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    bar.finish_and_clear();
    finished.store(true, std::sync::atomic::Ordering::Relaxed);
    match runner.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: running the job here: {e:#}"),
        Err(_) => eprintln!("warning: the import thread stopped"),
    }
    summary(&done, args.dry_run);
    let problems = conn
        .transaction(|c| imports::problems(c, &actor, done.id))
        .map_err(app)?;
    for p in problems.iter().take(20) {
        eprintln!(
            "  line {:>6} {:<6} {}{}",
            p.line,
            p.decision,
            p.column_name
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            p.reason
        );
    }
    if problems.len() > 20 {
        eprintln!("  ... the report lists them all");
    }
    if let Some(path) = &args.report {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("xlsx") => WriterFormat::Xlsx,
            _ => WriterFormat::Csv { separator: b',' },
        };
        let f = conn
            .transaction(|c| {
                imports::report(
                    c,
                    &actor,
                    &settings.imports,
                    done.id,
                    format,
                    ReportRows::Problems,
                )
            })
            .map_err(app)?;
        std::fs::write(path, f.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if done.status == ImportStatus::Failed {
        bail!(
            "import {} failed: {}",
            done.id,
            done.error.as_deref().unwrap_or("see its report")
        );
    }
    Ok(())
}

/// Runs the job `job` whenever it is due here, until `finished` is set or it is dead.
fn run_until(
    worker: &rdv_app::jobs::Worker,
    conn: &mut rdv_db::Conn,
    job: rdv_domain::JobId,
    finished: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    use rdv_app::jobs::Ran;
    while !finished.load(std::sync::atomic::Ordering::Relaxed) {
        match worker.run_job(conn, job).map_err(app)? {
            Ran::Done(_) => return Ok(()),
            Ran::Failed { state, .. } if state == "dead" => return Ok(()),
            Ran::Failed { .. } => eprintln!("the job failed; it is retried after a pause"),
            Ran::Idle | Ran::LostLease(_) => {}
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn summary(i: &Import, dry_run: bool) {
    let p = &i.progress;
    let n = |k: &str| p.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let verb = if dry_run { "would be" } else { "were" };
    println!(
        "import {} ({}): {} rows; {} {verb} created, {} updated, {} skipped, {} rejected ({} ms)",
        i.id,
        i.status,
        n("rows"),
        n("created"),
        n("updated"),
        n("skipped"),
        n("rejected"),
        n("elapsed_ms"),
    );
}

#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// participants, meeting_requests, meetings, tables, orders, invoices or audit.
    #[arg(long)]
    pub kind: String,
    /// The event (every kind but audit).
    #[arg(long)]
    pub event: Option<i64>,
    /// Where to write the file; its extension (.csv or .xlsx) chooses the format.
    #[arg(long, short)]
    pub output: PathBuf,
    /// `;` instead of `,` for a CSV (French Excel).
    #[arg(long)]
    pub semicolon: bool,
    /// The columns, comma-separated (default: all).
    #[arg(long)]
    pub columns: Option<String>,
    /// The organizer to act for (default: the first admin of the event's organization).
    #[arg(long = "as", env = "RDV_AS")]
    pub as_email: Option<String>,
}

pub fn export(settings: &Settings, args: &ExportArgs) -> anyhow::Result<()> {
    use rdv_db::Connection;
    let url = settings.database.url.expose_secret().to_owned();
    let mut conn = rdv_db::establish(&url).context("cannot connect to PostgreSQL")?;
    let kind: ExportKind = args
        .kind
        .parse()
        .map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
    let event = args.event.map(EventId);
    let actor =
        imports::command_line_actor(&mut conn, args.as_email.as_deref(), event).map_err(app)?;
    let xlsx = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let options = rdv_app::exports::SheetOptions {
        format: Some(if xlsx { "xlsx" } else { "csv" }.into()),
        separator: Some(if args.semicolon { ";" } else { "," }.into()),
        columns: args
            .columns
            .as_ref()
            .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect()),
        ..Default::default()
    };
    let export = conn
        .transaction(|c| rdv_app::exports::request(c, &actor, event, kind, options))
        .map_err(app)?;
    let job = export.job_id.context("the export has no job")?;
    let worker = crate::worker(settings, "export");
    let file = loop {
        // Run the job here whenever it is due (a worker elsewhere may take it instead).
        if let rdv_app::jobs::Ran::Failed { .. } = worker.run_job(&mut conn, job).map_err(app)? {
            eprintln!("the export failed; it is retried after a pause");
        }
        let e = conn
            .transaction(|c| rdv_app::exports::get(c, &actor, export.id))
            .map_err(app)?;
        match e.status {
            rdv_domain::ExportStatus::Done => {
                break conn
                    .transaction(|c| rdv_app::exports::download(c, &actor, export.id))
                    .map_err(app)?
            }
            rdv_domain::ExportStatus::Failed => {
                bail!("export failed: {}", e.error.unwrap_or_default())
            }
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    std::fs::write(&args.output, &file.bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    eprintln!(
        "{} written: {} bytes",
        args.output.display(),
        file.bytes.len()
    );
    Ok(())
}
