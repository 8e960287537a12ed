//! `funnel_counts`: the funnel's counts per campaign, quarter of an hour and where people came
//! from.

use super::{tally::Key, Counts};
use crate::db::Db;
use crate::entries::{Attribution, EntrySource};

/// Adds counts to what is stored, in one transaction (each instance adds its own).
pub async fn add(db: &Db, counts: &[(Key, Counts)]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for (key, c) in counts {
        sqlx::query(
            "INSERT INTO funnel_counts (campaign_id, quarter, source, origin, utm_source,
                                        views, taps, started, confirmed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (campaign_id, quarter, source, origin, utm_source) DO UPDATE SET
                views = funnel_counts.views + excluded.views,
                taps = funnel_counts.taps + excluded.taps,
                started = funnel_counts.started + excluded.started,
                confirmed = funnel_counts.confirmed + excluded.confirmed",
        )
        .bind(&key.campaign_id)
        .bind(key.quarter)
        .bind(key.from.source.as_str())
        .bind(&key.from.origin)
        .bind(&key.from.utm_source)
        .bind(c.views)
        .bind(c.taps)
        .bind(c.started)
        .bind(c.confirmed)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// One stored row.
#[derive(Clone, Debug)]
pub struct Counted {
    pub quarter: i64,
    pub from: Attribution,
    pub counts: Counts,
}

/// A row as read: quarter, source, origin, tag, then the four counts.
type Row = (i64, EntrySource, String, String, i64, i64, i64, i64);

/// Every row of a campaign, oldest first.
pub async fn of_campaign(db: &Db, campaign_id: &str) -> Result<Vec<Counted>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT quarter, source, origin, utm_source, views, taps, started, confirmed
         FROM funnel_counts WHERE campaign_id = $1 ORDER BY quarter",
    )
    .bind(campaign_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(quarter, source, origin, utm_source, views, taps, started, confirmed)| Counted {
                quarter,
                from: Attribution {
                    source,
                    origin,
                    utm_source,
                },
                counts: Counts {
                    views,
                    taps,
                    started,
                    confirmed,
                },
            },
        )
        .collect())
}

/// The admin's campaigns' confirmed entries per UTC day (the day's number since 1970) from the
/// quarter `since` on: `(campaign id, day, entries)`, for the campaign list's sparklines.
pub async fn entered_by_day(
    db: &Db,
    admin_id: &str,
    since: i64,
) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT f.campaign_id, f.quarter / 96 AS day, CAST(SUM(f.confirmed) AS BIGINT) AS n
         FROM funnel_counts f
         WHERE f.campaign_id IN ({}) AND f.quarter >= $2
         GROUP BY f.campaign_id, f.quarter / 96",
        crate::campaigns::store::managed_campaign_ids(),
    ))
    .bind(admin_id)
    .bind(since)
    .fetch_all(db)
    .await
}
