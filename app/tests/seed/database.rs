//! A fresh database for a benchmark: a SQLite file in the temporary folder, or a new database on
//! the PostgreSQL server `TEST_POSTGRES_URL` names (a role that may create databases).

pub async fn fresh(backend: &str, prefix: &str) -> String {
    let name = format!("{prefix}_{}", app::db::new_id());
    match backend {
        "sqlite" => format!(
            "sqlite://{}/bench.db",
            std::env::temp_dir().join(name).display()
        ),
        "postgres" => {
            let admin = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://giveaway:giveaway@127.0.0.1:5432/postgres".into());
            let pool = sqlx::PgPool::connect(&admin)
                .await
                .expect("PostgreSQL reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0;
            format!("{base}/{name}")
        }
        other => panic!("unknown backend {other}: sqlite or postgres"),
    }
}
