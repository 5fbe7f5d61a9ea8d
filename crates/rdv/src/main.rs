//! The rdv command: `serve`, `worker`, `notify-worker`, `migrate`, `seed-demo`, `openapi`, the search index
//! commands, `import` and `export`, and the planner's `plan`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use rdv::settings::{Profile, Settings};
use rdv_app::{jobs, maintenance, search};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod io;
mod plan;

#[derive(Parser)]
#[command(
    name = "rdv",
    version,
    about = "B2B meeting events: registration, matchmaking, planning"
)]
struct Cli {
    /// Folder holding base.toml and the profile files.
    #[arg(long, global = true, env = "RDV_CONFIG_DIR", default_value = "config")]
    config_dir: PathBuf,
    /// Settings profile: local, test or production.
    #[arg(long, global = true, env = "APP_PROFILE", default_value = "local")]
    profile: String,
    #[command(subcommand)]
    command: Command,
}

/// Where this node keeps its participant search index.
#[derive(clap::Args, Debug, Clone)]
struct IndexArgs {
    /// Folder of the search index (default: search.index_dir of the settings).
    #[arg(long, env = "RDV_SEARCH_DIR")]
    index_dir: Option<PathBuf>,
}

impl IndexArgs {
    fn dir(&self, settings: &Settings) -> PathBuf {
        self.index_dir
            .clone()
            .unwrap_or_else(|| settings.search.index_dir.clone())
    }
}

#[derive(clap::Args, Debug, Clone)]
struct ServeArgs {
    #[command(flatten)]
    index: IndexArgs,
    /// Do not run a job worker or a notification worker inside this process (run
    /// `rdv worker` and `rdv notify-worker` elsewhere).
    #[arg(long)]
    no_worker: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the HTTP API (with participant search, whose index
    /// this node builds from the database and keeps in step with it, and a job worker unless
    /// disabled).
    Serve(ServeArgs),
    /// Run queued jobs (any number of workers may run, on any machines).
    Worker,
    /// Send the notification outbox's messages (any number may run, on any machines).
    NotifyWorker,
    /// Apply pending database migrations.
    Migrate,
    /// Create the demo organization, event, participants and logins (idempotent).
    SeedDemo,
    /// Print the OpenAPI document.
    Openapi,
    /// Plan the meetings of an instance file (native JSON or the benchmark's .dzn).
    Plan(plan::PlanArgs),
    /// Rebuild the participant search index from the database.
    SearchReindex(IndexArgs),
    /// Keep the participant search index in step with the database (the search outbox).
    SearchFollow(IndexArgs),
    /// Erase, anonymise or delete every record past its retention deadline, and store the
    /// report (the workers also run it daily).
    PrivacySweep(SweepArgs),
    /// Check that an erased person left no trace: search a dump of the database, the search
    /// index and the given logs for their name, email and phone numbers.
    PrivacyScan(ScanArgs),
    /// Import a spreadsheet (persons, prospects, meeting requests or tables), with a progress
    /// bar: a dry run with --dry-run, then the real run.
    Import(io::ImportArgs),
    /// Export an event's participants, meeting requests, meetings, tables, orders or
    /// invoices (or the organization's audit log) as CSV or XLSX.
    Export(io::ExportArgs),
    /// Print the record of processing activities (Markdown), generated from the registry.
    PrivacyRecord(RecordArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct SweepArgs {
    /// Show what would be removed, changing nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args, Debug, Clone)]
struct ScanArgs {
    /// The person's id.
    #[arg(long)]
    person: i64,
    #[command(flatten)]
    index: IndexArgs,
    /// A log file of the application to search as well (repeatable).
    #[arg(long = "log")]
    logs: Vec<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
struct RecordArgs {
    /// The controller the record is for (an organization's name).
    #[arg(long, default_value = "the organizer")]
    controller: String,
}

fn privacy_sweep(settings: &Settings, args: &SweepArgs) -> anyhow::Result<()> {
    let mut conn = connection(settings)?;
    let progress = |table: &str, n: i64| eprintln!("  {table}: {n} rows so far");
    let report = if args.dry_run {
        rdv_app::privacy::sweep::sweep(
            &mut conn,
            &settings.privacy,
            true,
            chrono::Utc::now(),
            progress,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        let (row, report) =
            rdv_app::privacy::sweep::run_and_record(&mut conn, &settings.privacy, None, progress)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!("sweep {} stored", row.id);
        report
    };
    let verb = if report.dry_run { "would" } else { "did" };
    println!(
        "retention sweep ({}), cutoff {}",
        if report.dry_run {
            "dry run: nothing changed"
        } else {
            "done"
        },
        report.cutoff
    );
    for t in &report.tables {
        println!(
            "  {:<18} {verb} {:<12} {:>8} rows",
            t.table, t.action, t.rows
        );
    }
    for h in &report.held {
        println!(
            "  {:<18} kept {:>8} rows under a legal hold: {}",
            h.table, h.rows, h.legal_hold
        );
    }
    Ok(())
}

fn privacy_scan(settings: &Settings, args: &ScanArgs) -> anyhow::Result<()> {
    let mut conn = connection(settings)?;
    let person = rdv_domain::PersonId(args.person);
    let (terms, erased) =
        rdv_app::privacy::scan::terms(&mut conn, person).map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = args.index.dir(settings);
    let report = rdv_app::privacy::scan::scan(
        person,
        &terms,
        erased,
        settings.database.owner_url().expose_secret(),
        dir.exists().then_some(dir.as_path()),
        &args.logs,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.traces.is_empty() {
        anyhow::bail!(
            "{} trace(s) of person {} outside legal holds",
            report.traces.len(),
            args.person
        );
    }
    Ok(())
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    Settings::load(&cli.config_dir, &cli.profile)
        .with_context(|| format!("loading settings from {}", cli.config_dir.display()))
}

fn connection(settings: &Settings) -> anyhow::Result<rdv_db::Conn> {
    rdv_db::establish(settings.database.url.expose_secret())
        .context("cannot connect to PostgreSQL (check DATABASE_URL or database.url)")
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = rdv_db::establish(settings.database.owner_url().expose_secret())
        .context("cannot connect to PostgreSQL as the owner (check database.owner_url)")?;
    let applied = rdv_db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        eprintln!("database schema is up to date");
    } else {
        eprintln!("applied migrations: {}", applied.join(", "));
    }
    Ok(())
}

fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    if settings.profile == Profile::Production {
        anyhow::bail!("the demo seed is refused in the production profile");
    }
    migrate(settings)?;
    let mut conn = connection(settings)?;
    let hash = rdv_app::auth::hash_password("demo").map_err(|e| anyhow::anyhow!("{e}"))?;
    let summary = rdv_db::seed::seed_demo(&mut conn, &hash)?;
    eprintln!(
        "demo seeded: organization {} event {} ({} slots), {} persons and {} registrations created now",
        summary.organization_id,
        summary.event_id,
        summary.slots,
        summary.persons_created,
        summary.registrations_created
    );
    eprintln!("demo logins (password `demo`): root@demo.example (platform admin), admin@demo.example (organizer admin), buyer1@demo.example (participant)");
    Ok(())
}

fn worker(settings: &Settings, label: &str) -> jobs::Worker {
    jobs::Worker::new(
        jobs::Worker::default_name(label),
        maintenance::registry(
            &settings.auth,
            &settings.jobs,
            &settings.privacy,
            &settings.shop,
            &settings.imports,
        ),
        settings.jobs.clone(),
    )
}

fn notify_worker(settings: &Settings, label: &str) -> anyhow::Result<rdv_app::notify::Worker> {
    rdv_app::notify::Worker::new(
        jobs::Worker::default_name(label),
        &settings.email,
        &settings.sms,
        settings.notify.clone(),
        settings.auth.jwt_secret.expose_secret(),
    )
    .context("cannot start the notification worker (check the [email] and [sms] settings)")
}

fn serve(settings: Settings, args: &ServeArgs) -> anyhow::Result<()> {
    migrate(&settings)?;
    let pool = rdv_db::connect_pool(
        settings.database.url.expose_secret(),
        settings.database.pool_size,
    )?;
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    let listener =
        std::net::TcpListener::bind(&addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let url = settings.database.url.expose_secret().to_owned();
    let index = Arc::new(search::open(&args.index.dir(&settings))?);
    let status = search::spawn_follower(url.clone(), index.clone())?;
    if settings.jobs.worker_in_serve && !args.no_worker {
        let w = worker(&settings, "serve");
        let url = url.clone();
        std::thread::Builder::new()
            .name("job-worker".into())
            .spawn(move || w.run(&url, &AtomicBool::new(false)))?;
    }
    if settings.notify.worker_in_serve && !args.no_worker {
        let w = notify_worker(&settings, "serve")?;
        std::thread::Builder::new()
            .name("notify-worker".into())
            .spawn(move || w.run(&url, &AtomicBool::new(false)))?;
    }
    eprintln!("rdv listening on http://{local}");
    eprintln!("API docs: http://{local}/api/docs (OpenAPI: http://{local}/api/openapi.json)");
    let state = actix_web::web::Data::new(
        rdv_api::AppState::new(pool, settings.server.clone(), settings.auth.clone())
            .with_search(index, Some(status))
            .with_privacy(settings.privacy.clone())
            .with_shop(settings.shop.clone())
            .with_imports(settings.imports.clone()),
    );
    actix_web::rt::System::new().block_on(rdv_api::serve(listener, state))?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Imports and exports speak to a person at a terminal: their own lines and progress bar,
    // and warnings only from the log (RUST_LOG still says otherwise).
    let quiet = matches!(cli.command, Command::Import(_) | Command::Export(_));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                if quiet {
                    "warn"
                } else {
                    "info,actix_server=warn"
                }
                .into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        Command::Openapi => {
            print!("{}", rdv_api::openapi::document());
            Ok(())
        }
        Command::Migrate => settings(&cli).and_then(|s| migrate(&s)),
        Command::SeedDemo => settings(&cli).and_then(|s| seed_demo(&s)),
        Command::Serve(args) => settings(&cli).and_then(|s| serve(s, args)),
        Command::Worker => settings(&cli).and_then(|s| {
            migrate(&s)?;
            worker(&s, "worker").run(s.database.url.expose_secret(), &AtomicBool::new(false));
            Ok(())
        }),
        Command::NotifyWorker => settings(&cli).and_then(|s| {
            migrate(&s)?;
            notify_worker(&s, "notify")?
                .run(s.database.url.expose_secret(), &AtomicBool::new(false));
            Ok(())
        }),
        Command::Plan(args) => plan::run(args),
        Command::PrivacySweep(args) => settings(&cli).and_then(|s| privacy_sweep(&s, args)),
        Command::PrivacyScan(args) => settings(&cli).and_then(|s| privacy_scan(&s, args)),
        Command::Import(args) => settings(&cli).and_then(|s| io::import(&s, args)),
        Command::Export(args) => settings(&cli).and_then(|s| io::export(&s, args)),
        Command::PrivacyRecord(args) => {
            print!(
                "{}",
                rdv_privacy::record::markdown(&rdv_privacy::record::Header {
                    controller: &args.controller,
                    generated_on: &chrono::Utc::now().date_naive().to_string(),
                })
            );
            Ok(())
        }
        Command::SearchReindex(args) => settings(&cli).and_then(|s| {
            let index = search::open(&args.dir(&s))?;
            let n = search::reindex(&mut connection(&s)?, &index)?;
            eprintln!("search index rebuilt: {n} registrations");
            Ok(())
        }),
        Command::SearchFollow(args) => settings(&cli).and_then(|s| {
            let index = search::open(&args.dir(&s))?;
            let status = search::FollowerStatus::default();
            search::follow(
                s.database.url.expose_secret(),
                &index,
                &status,
                &AtomicBool::new(false),
            )
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
