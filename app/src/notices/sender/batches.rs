//! The Page's notice calls, gathered into Graph batch requests: the sends under way hand their
//! requests to one gatherer per run, which lets them go a batch at a time at Meta's pace.
//!
//! Each call of a batch still counts against the Page's limit (Meta counts them one by one,
//! facts file §8 and Graph's batch requests), so the pace is the same; what a batch saves is
//! the HTTP exchange, the token's proof and the usage headers, once for up to
//! [`Pacer::batch_size`] messages instead of once each: a third of the product's CPU a message
//! went to the HTTP call before (README, fan-out). A lone request goes as a plain call.

use super::*;
use crate::messenger::graph::{SendResponse, Usage};
use std::collections::VecDeque;
use std::sync::Weak;
use tokio::sync::{mpsc, oneshot};

/// Meta's answer to one request, and when its call left (ms).
pub(super) type Answer = (Result<(SendResponse, Usage), GraphError>, i64);

pub(super) struct Waiting {
    request: SendRequest,
    answer: oneshot::Sender<Answer>,
}

/// Where a run's sends leave their requests.
pub(super) struct Batches {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Batches {
    /// The gatherer of `run`; it ends with the run.
    pub(super) fn start(run: &Arc<Run>, queue: mpsc::UnboundedReceiver<Waiting>) {
        tokio::spawn(gather(Arc::downgrade(run), queue));
    }

    pub(super) fn channel() -> (Batches, mpsc::UnboundedReceiver<Waiting>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        (Batches { queue }, receiver)
    }

    /// Sends `request` with the next batch; `None` when it was not sent (the Page was paused
    /// while it waited, or the run ended).
    pub(super) async fn send(&self, request: SendRequest) -> Option<Answer> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Waiting { request, answer }).ok()?;
        answered.await.ok()
    }
}

/// Takes what the sends have queued, up to a batch, waits for the batch's turn and sends it.
async fn gather(run: Weak<Run>, mut incoming: mpsc::UnboundedReceiver<Waiting>) {
    let mut queued: VecDeque<Waiting> = VecDeque::new();
    loop {
        if queued.is_empty() {
            match incoming.recv().await {
                Some(waiting) => queued.push_back(waiting),
                None => return,
            }
        }
        while let Ok(waiting) = incoming.try_recv() {
            queued.push_back(waiting);
        }
        let Some(run) = run.upgrade() else { return };
        let size = queued.len().min(run.pacer.batch_size());
        let call = run.pacer.ready_for(size).await;
        // More came in while the batch waited: they go with the next one.
        // A send that is no longer waiting was aborted (another instance holds the Page now, or
        // the run stopped): its message is not ours to send any more.
        let batch: Vec<Waiting> = queued
            .drain(..size)
            .filter(|w| !w.answer.is_closed())
            .collect();
        if batch.is_empty() || run.paused.lock().expect("lock").is_some() {
            // Paused while these waited their turn: they would only fail the same way. Their
            // senders see no answer and put their messages back.
            continue;
        }
        let (requests, answers): (Vec<SendRequest>, Vec<oneshot::Sender<Answer>>) =
            batch.into_iter().map(|w| (w.request, w.answer)).unzip();
        // Batches overlap (Meta may take its time to answer one); the pacer's window keeps
        // them within the limit together.
        tokio::spawn(async move {
            let (graph, page) = (&run.state.graph, &run.page);
            let started = now_ms();
            let results: Vec<Result<(SendResponse, Usage), GraphError>> =
                if let [request] = requests.as_slice() {
                    vec![
                        graph
                            .send(&page.facebook_page_id, &page.token, request)
                            .await,
                    ]
                } else {
                    match graph
                        .send_batch(&page.facebook_page_id, &page.token, &requests)
                        .await
                    {
                        Ok((results, usage)) => results
                            .into_iter()
                            .map(|r| r.map(|sent| (sent, usage.clone())))
                            .collect(),
                        Err(e) => vec![Err(e); requests.len()],
                    }
                };
            // Meta has answered: the calls count against the Page's limit one second more.
            drop(call);
            for (answer, result) in answers.into_iter().zip(results) {
                let _ = answer.send((result, started));
            }
        });
    }
}
