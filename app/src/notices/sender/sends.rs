//! The sends under way in a run, each with its message, settled as they finish.

use super::*;

/// The sends under way, each with its message. Each send settles its own message (sent,
/// failed, back in the queue); one that panicked or failed on the database left it claimed, and
/// it is put back here.
#[derive(Default)]
pub(super) struct Sends {
    pub(super) tasks: JoinSet<Result<(), sqlx::Error>>,
    pub(super) messages: HashMap<tokio::task::Id, String>,
}

pub(super) type Finished =
    Result<(tokio::task::Id, Result<(), sqlx::Error>), tokio::task::JoinError>;

impl Sends {
    pub(super) fn spawn(
        &mut self,
        message_id: String,
        send: impl Future<Output = Result<(), sqlx::Error>> + Send + 'static,
    ) {
        let task = self.tasks.spawn(send);
        self.messages.insert(task.id(), message_id);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub(super) fn abort_all(&mut self) {
        self.tasks.abort_all();
        self.messages.clear();
    }

    /// Collects the sends that ended; the first database error among them.
    pub(super) async fn settle_finished(&mut self, db: &Db) -> Result<(), sqlx::Error> {
        let mut failure = None;
        while let Some(done) = self.tasks.try_join_next_with_id() {
            self.settle(db, done, &mut failure).await?;
        }
        failure.map_or(Ok(()), Err)
    }

    /// Waits for every send under way; the first database error among them.
    pub(super) async fn drain(&mut self, db: &Db) -> Result<(), sqlx::Error> {
        let mut failure = None;
        while let Some(done) = self.tasks.join_next_with_id().await {
            self.settle(db, done, &mut failure).await?;
        }
        failure.map_or(Ok(()), Err)
    }

    pub(super) async fn settle(
        &mut self,
        db: &Db,
        done: Finished,
        failure: &mut Option<sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        let (task, settled) = match done {
            Ok((task, Ok(()))) => (task, true),
            Ok((task, Err(e))) => {
                failure.get_or_insert(e);
                (task, false)
            }
            Err(e) => {
                tracing::error!(error = %e, "a send panicked; its message goes back in the queue");
                (e.id(), false)
            }
        };
        match self.messages.remove(&task) {
            Some(message) if !settled => requeue_unsent(db, &[message]).await,
            _ => Ok(()),
        }
    }
}
