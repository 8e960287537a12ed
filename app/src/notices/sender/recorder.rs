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
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH as usize {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let result = Self::commit(&db, &batch).await;
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
        let mut tx = db.begin().await?;
        for (sent, _) in batch {
            let (id, mid) = (&sent.id, &sent.message_id);
            outbox::mark_sent(&mut *tx, id, mid, sent.sent_at, sent.path, sent.note).await?;
        }
        tx.commit().await?;
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
