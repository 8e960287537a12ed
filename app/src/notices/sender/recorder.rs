//! Recording what Meta accepted, many sends to a commit.

use super::*;

/// A message Meta accepted, to record as sent.
pub(super) struct Sent {
    pub(super) id: String,
    pub(super) message_id: String,
    pub(super) sent_at: i64,
    pub(super) path: &'static str,
    pub(super) note: Option<&'static str>,
}

/// How long a send's record waits for the sends behind it. The send holds its place among the
/// sends in flight meanwhile, not Meta's count (its answer is back), so at 300 a second some 30
/// sends wait here: the default of 64 in flight (`SEND_CONCURRENCY`) leaves the pace room (with
/// 32 it fell to 0.99 of the limit). Each round is a fixed cost: the fan-out's CPU a message,
/// one Page, went from 0.81 to 0.61 ms on SQLite with 20 -> 50 ms; 50 -> 100 ms (the inbox's
/// and the receipts' rounds alike) with claims of 128 cut about a tenth more (README).
const GATHER: std::time::Duration = std::time::Duration::from_millis(100);

pub(super) type Ack = tokio::sync::oneshot::Sender<Result<(), sqlx::Error>>;

/// Records sent messages together: one transaction for every send that finished while the last
/// one committed, instead of a commit per message (at 300 a second per Page, commits were what
/// the database spent its time on). A send waits for its record to be committed and keeps its
/// place among the sends in flight meanwhile, so what can go twice after a crash stays bounded by
/// the sends in flight.
pub(super) struct Recorder {
    pub(super) queue: tokio::sync::mpsc::UnboundedSender<(Sent, Ack)>,
}

impl Recorder {
    /// The recording task ends with the run (when the last send lets go of it).
    pub(super) fn start(db: Db) -> Recorder {
        let (queue, mut waiting) = tokio::sync::mpsc::unbounded_channel::<(Sent, Ack)>();
        tokio::spawn(async move {
            let mut last_commit: Option<tokio::time::Instant> = None;
            while let Some(first) = waiting.recv().await {
                // While sends keep finishing, the ones right behind this one share its commit. At
                // Meta's pace they finish one by one, a few milliseconds apart: without this wait
                // nearly every commit held one send. A lone send (a small Page, a retry) after a
                // quiet spell is recorded at once.
                if last_commit.is_some_and(|at| at.elapsed() < GATHER) {
                    tokio::time::sleep(GATHER).await;
                }
                let mut batch = vec![first];
                while batch.len() < BATCH as usize {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let result = Self::commit(&db, &batch).await;
                last_commit = Some(tokio::time::Instant::now());
                for (_, ack) in batch {
                    let _ = ack.send(match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(sqlx::Error::Protocol(format!("recording sends: {e}"))),
                    });
                }
            }
        });
        Recorder { queue }
    }

    pub(super) async fn commit(db: &Db, batch: &[(Sent, Ack)]) -> Result<(), sqlx::Error> {
        // Every statement writes: SQLite takes the write lock at the first one, no read before.
        let mut writer = crate::db::writer(db).await?;
        let accepted: Vec<_> = batch
            .iter()
            .map(|(sent, _)| outbox::Accepted {
                id: &sent.id,
                message_id: &sent.message_id,
                sent_at: sent.sent_at,
                path: sent.path,
                note: sent.note,
            })
            .collect();
        // A batch is one statement (see the assertion below), atomic without a transaction.
        outbox::mark_sent(&mut *writer, &accepted).await?;
        drop(writer);
        // Meta's receipts may have come in while the answers were on their way.
        let ids: Vec<&str> = batch.iter().map(|(sent, _)| sent.id.as_str()).collect();
        // The sends are recorded either way; a receipt missed here is applied by the next
        // receipt for that person.
        if let Err(e) = outbox::catch_up(db, &ids).await {
            tracing::warn!(error = %e, "receipts not caught up after recording sends");
        }
        Ok(())
    }

    pub(super) async fn record(&self, sent: Sent) -> Result<(), sqlx::Error> {
        let (ack, committed) = tokio::sync::oneshot::channel();
        if self.queue.send((sent, ack)).is_err() {
            return Err(sqlx::Error::PoolClosed);
        }
        committed.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

// A batch of sends is recorded in one statement.
const _: () = assert!(BATCH as usize <= outbox::MARK_SENT_AT_ONCE);
