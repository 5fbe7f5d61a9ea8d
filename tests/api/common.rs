use rdv::settings::Settings;
use rdv_api::AppState;
use rdv_db::testing::TestDatabase;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub db: TestDatabase,
}

pub fn settings(database_url: &str) -> Settings {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut s = Settings::load(&dir, "test").expect("test settings");
    s.database.url = database_url.to_owned().into();
    s
}

/// The API's state over a pool of the given database, with the test settings.
pub fn state(settings: &Settings) -> AppState {
    use secrecy::ExposeSecret;
    let pool = rdv_db::connect_pool(
        settings.database.url.expose_secret(),
        settings.database.pool_size,
    )
    .unwrap();
    AppState::new(pool, settings.server.clone(), settings.auth.clone())
        .with_privacy(settings.privacy.clone())
        .with_shop(settings.shop.clone())
        .with_imports(settings.imports.clone())
}

impl TestApp {
    /// The API on a fresh database holding the demo seed.
    pub async fn spawn() -> Self {
        let db = TestDatabase::new();
        {
            let mut conn = db.connect();
            let hash = rdv_app::auth::hash_password("demo").unwrap();
            rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
        }
        Self::serve(state(&settings(&db.app_url())), db)
    }

    /// The API on a fresh database holding the demo seed, telling the card provider to call
    /// back this app's own address (webhooks, return pages).
    pub async fn spawn_shop() -> Self {
        let db = TestDatabase::new();
        {
            let mut conn = db.connect();
            let hash = rdv_app::auth::hash_password("demo").unwrap();
            rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = settings(&db.app_url());
        s.shop.public_url = format!("http://{}", listener.local_addr().unwrap());
        Self::serve_on(listener, state(&s), db)
    }

    pub fn serve(state: AppState, db: TestDatabase) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve_on(listener, state, db)
    }

    pub fn serve_on(listener: std::net::TcpListener, state: AppState, db: TestDatabase) -> Self {
        let base = format!("http://{}", listener.local_addr().unwrap());
        actix_web::rt::spawn(rdv_api::serve(listener, actix_web::web::Data::new(state)));
        Self {
            base,
            // A test may block its thread for seconds (parsing mailboxes, dumping the
            // database) while the server's keep-alive timer runs: an idle connection is not
            // reused after a second, so that no request goes out on one the server is closing.
            client: Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(1))
                .build()
                .unwrap(),
            db,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn login_full(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self.login_full(email, password).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin(&self) -> String {
        self.login("admin@demo.example", "demo").await
    }

    pub fn conn(&self) -> rdv_db::Conn {
        self.db.connect()
    }

    /// The demo event's id.
    pub async fn demo_event(&self, token: &str) -> i64 {
        let (_, events) = self.get("/api/events", token).await;
        events[0]["id"].as_i64().unwrap()
    }
}

/// Asserts the error body's shape and code, and returns its fields.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, code: &str) -> Value {
    assert_eq!(status.as_u16(), expected_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body["fields"].clone()
}

impl TestApp {
    /// The API with participant search: an index built from the seeded database in a
    /// temporary folder, followed by a background follower as `rdv serve` runs one.
    pub async fn spawn_with_search() -> (Self, tempfile::TempDir) {
        let db = TestDatabase::new();
        {
            let mut conn = db.connect();
            let hash = rdv_app::auth::hash_password("demo").unwrap();
            rdv_db::seed::seed_demo(&mut conn, &hash).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let index = rdv_app::search::open(dir.path()).unwrap();
        let index = std::sync::Arc::new(index);
        rdv_app::search::reindex(&mut db.connect(), &index).unwrap();
        let status = rdv_app::search::spawn_follower(db.app_url(), index.clone()).unwrap();
        (
            Self::serve(
                state(&settings(&db.app_url())).with_search(index, Some(status)),
                db,
            ),
            dir,
        )
    }
}

/// Runs an independent checker of tests/checkers (Python, from the virtual environment `make
/// test` creates) on `input` and returns the JSON it prints.
pub fn checker(script: &str, input: &[u8]) -> Value {
    use std::io::Write;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/checkers-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: `make test` creates it (make target/checkers-venv/ready)",
        python.display()
    );
    let mut child = std::process::Command::new(python)
        .arg(root.join("tests/checkers").join(script))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script} refused its input");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A participant's meeting requests in the event: the page of those sent, and every
/// registration they already asked or were asked by.
pub async fn request_partners(app: &TestApp, token: &str, event: i64) -> (Value, Vec<i64>) {
    let path = format!("/api/events/{event}/meeting-requests");
    let (_, sent) = app
        .get(&format!("{path}?box=sent&per_page=200"), token)
        .await;
    let (_, received) = app
        .get(&format!("{path}?box=received&per_page=200"), token)
        .await;
    let side = |page: &Value, who: &str| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[who]["registration_id"].as_i64().unwrap())
            .collect()
    };
    let mut known = side(&sent, "recipient");
    known.extend(side(&received, "requester"));
    (sent, known)
}

/// A worker of the platform's job kinds, run here one job at a time.
pub fn job_worker(app: &TestApp) -> rdv_app::jobs::Worker {
    let s = settings(&app.db.app_url());
    let registry =
        rdv_app::maintenance::registry(&s.auth, &s.jobs, &s.privacy, &s.shop, &s.imports);
    rdv_app::jobs::Worker::new("test-worker", registry, s.jobs)
}

/// Runs queued jobs (planning runs, exports) until none is left.
pub fn drain(app: &TestApp) {
    let w = job_worker(app);
    let mut conn = app.conn();
    while let rdv_app::jobs::Ran::Done(_) | rdv_app::jobs::Ran::Failed { .. } =
        w.run_once(&mut conn).unwrap()
    {}
}

/// Starts a short planning run of the event (3 s, seed 7) and returns its id.
pub async fn start_run(app: &TestApp, admin: &str, event: i64) -> i64 {
    let (status, run) = app
        .post(
            &format!("/api/events/{event}/plans"),
            admin,
            json!({"time_limit_seconds": 3, "seed": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(run["status"], "queued");
    run["id"].as_i64().unwrap()
}
