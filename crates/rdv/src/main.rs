//! The rdv command: `serve`, `migrate`, `seed-demo`, `openapi`, and the planner's `plan`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use rdv_api::Settings;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

mod plan;

use rdv::search;

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

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the HTTP API (with participant search, whose index
    /// this node builds from the database and keeps in step with it).
    Serve(search::SearchArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Create the demo organization, event, participants and logins (idempotent).
    SeedDemo,
    /// Print the OpenAPI document.
    Openapi,
    /// Plan the meetings of an instance file (native JSON or the benchmark's .dzn).
    Plan(plan::PlanArgs),
    /// Rebuild the participant search index from the database.
    SearchReindex(search::SearchArgs),
    /// Keep the participant search index in step with the database (the search outbox).
    SearchFollow(search::SearchArgs),
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    Settings::load(&cli.config_dir, &cli.profile)
        .with_context(|| format!("loading settings from {}", cli.config_dir.display()))
}

fn connection(settings: &Settings) -> anyhow::Result<rdv_db::Conn> {
    use rdv_db::Connection;
    rdv_db::Conn::establish(settings.database.url.expose_secret())
        .context("cannot connect to PostgreSQL (check DATABASE_URL or database.url)")
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connection(settings)?;
    let applied = rdv_db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        eprintln!("database schema is up to date");
    } else {
        eprintln!("applied migrations: {}", applied.join(", "));
    }
    Ok(())
}

fn seed_demo(settings: &Settings) -> anyhow::Result<()> {
    if settings.profile == "production" {
        anyhow::bail!("the demo seed is refused in the production profile");
    }
    let mut conn = connection(settings)?;
    rdv_db::run_migrations(&mut conn)?;
    let hash = rdv_api::auth::hash_password("demo").map_err(|e| anyhow::anyhow!("{e}"))?;
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

fn serve(settings: Settings, search_args: &search::SearchArgs) -> anyhow::Result<()> {
    migrate(&settings)?;
    let pool = rdv_api::connect(&settings)?;
    let addr = format!("{}:{}", settings.server.host, settings.server.port);
    let listener =
        std::net::TcpListener::bind(&addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    eprintln!("rdv listening on http://{local}");
    eprintln!("API docs: http://{local}/api/docs (OpenAPI: http://{local}/api/openapi.json)");
    let index = std::sync::Arc::new(search::open(search_args)?);
    {
        let index = index.clone();
        let url = settings.database.url.expose_secret().to_owned();
        std::thread::Builder::new().name("search-follow".into()).spawn(move || {
            if let Err(e) = search::follow(&url, &index) {
                tracing::error!(error = %format!("{e:#}"), "participant search stopped following the database");
            }
        })?;
    }
    let state =
        actix_web::web::Data::new(rdv_api::AppState::new(pool, settings).with_search(index));
    actix_web::rt::System::new().block_on(rdv_api::serve(listener, state))?;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Openapi => {
            print!("{}", rdv_api::openapi::document());
            Ok(())
        }
        Command::Migrate => settings(&cli).and_then(|s| migrate(&s)),
        Command::SeedDemo => settings(&cli).and_then(|s| seed_demo(&s)),
        Command::Serve(args) => settings(&cli).and_then(|s| serve(s, args)),
        Command::Plan(args) => plan::run(args),
        Command::SearchReindex(args) => settings(&cli).and_then(|s| {
            let index = search::open(args)?;
            let n = search::reindex(&mut connection(&s)?, &index)?;
            eprintln!("search index rebuilt: {n} registrations");
            Ok(())
        }),
        Command::SearchFollow(args) => settings(&cli).and_then(|s| {
            let index = search::open(args)?;
            search::follow(s.database.url.expose_secret(), &index)
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
