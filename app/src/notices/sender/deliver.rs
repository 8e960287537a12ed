//! One message of the queue: asked of the send policy, sent, and its outcome recorded.

use super::*;

impl Run {
    pub(super) fn must_stop(&self) -> bool {
        self.paused.lock().expect("lock").is_some()
            || self.pacer.held_for().is_some_and(|d| d > SHORT_PAUSE)
    }

    pub(super) async fn deliver(&self, row: Row) -> Result<(), sqlx::Error> {
        let db = &self.state.db;
        if self.must_stop() {
            return outbox::requeue(db, &row.id, None, None).await;
        }
        let purpose = match row.kind {
            NoticeKind::End => Purpose::EndNotice,
            NoticeKind::Update => Purpose::UpdateNotice,
            NoticeKind::Winner => Purpose::WinnerNotice,
        };
        let notice_path = match row.notice_path {
            crate::campaigns::NoticePath::Tag => NoticePath::Tag {
                fallback_to_utility: row.tag_fallback,
            },
            crate::campaigns::NoticePath::Automatic => NoticePath::Automatic,
        };
        let text = fill(
            &row.text,
            row.first_name.as_deref().unwrap_or(""),
            &row.title,
            &row.prize,
        );
        let mut window_refused = false;
        loop {
            let tag_refused = self.tag_refused.load(Ordering::Relaxed)
                && matches!(notice_path, NoticePath::Tag { .. });
            let note = tag_refused.then_some(TAG_RETIRED);
            let (which, standing) = if row.kind == NoticeKind::Winner {
                let standing = self.results_template.lock().expect("lock").clone();
                (templates::RESULTS, standing)
            } else {
                (
                    templates::NOTICE,
                    self.template.lock().expect("lock").clone(),
                )
            };
            let template = standing.state;
            let decision = policy::decide(&Situation {
                purpose,
                now: now_ms(),
                // Meta said the window is closed: believe it over our own record.
                last_interaction_at: if window_refused {
                    0
                } else {
                    row.last_interaction_at
                },
                unreachable: row.unreachable_at.is_some(),
                opted_out: row.opted_out_at.is_some(),
                notice_path,
                template,
                tag_refused,
            });
            let path = match decision {
                Decision::Send(path) => path,
                Decision::Hold(reason) if tag_refused => {
                    return outbox::mark_failed_as(db, &row.id, Some(100), None, &reason).await
                }
                Decision::Hold(reason) => return outbox::mark_not_sent(db, &row.id, &reason).await,
                Decision::Wait(_) => {
                    // Meta's words, when it refused something, are part of the reason.
                    let reason = standing.waiting_reason();
                    let reason = note.map_or(reason.clone(), |n| format!("{n}; {reason}"));
                    // No message waits forever: past the limit it ends with the reason, and the
                    // admin can send the not-sent ones again once it is fixed.
                    let expires = row.created_at + self.state.settings.sending.wait_limit_ms;
                    if now_ms() >= expires {
                        return outbox::mark_not_sent(db, &row.id, &reason).await;
                    }
                    // It waits until the template becomes usable (which frees it at once) or
                    // until it expires.
                    outbox::requeue(db, &row.id, Some(&reason), Some(expires)).await?;
                    // Which state it waited on: a change while it was claimed is caught when
                    // the run ends (see `pump`).
                    let waited_on = (which, standing.state, standing.reason);
                    let mut seen = self.waited_on.lock().expect("lock");
                    if !seen.contains(&waited_on) {
                        seen.push(waited_on);
                    }
                    return Ok(());
                }
            };
            let request = if row.kind == NoticeKind::Winner {
                crate::winners::claims::message(
                    &row.psid,
                    &row.campaign_id,
                    &row.title,
                    &text,
                    path,
                )
            } else {
                match path {
                    Path::Response => SendRequest::text(&row.psid, &text),
                    Path::Update => SendRequest::update(&row.psid, &text),
                    Path::Tag => SendRequest::tagged(&row.psid, &text, NOTICE_TAG),
                    Path::Utility => templates::request(&row.psid, &row.title, &text),
                }
            };
            // At Meta's pace, with the run's other sends (`batches`).
            let Some((answer, started)) = self.batches.send(request).await else {
                // The Page was paused while this send waited its turn: it would only fail the
                // same way, one more call per message in flight.
                return outbox::requeue(db, &row.id, None, None).await;
            };
            let error = match answer {
                Ok((sent, usage)) => {
                    self.pacer.succeeded();
                    self.pacer.observe(&usage);
                    let sent = Sent {
                        id: row.id.clone(),
                        message_id: sent.message_id,
                        sent_at: started,
                        path: path.as_str(),
                        note,
                    };
                    return self.recorder.record(sent).await;
                }
                Err(e) => e,
            };
            if let Some(usage) = error.usage() {
                self.pacer.observe(usage);
            }
            match error.class() {
                ErrorClass::Transient => return self.retry_or_fail(&row, &error).await,
                ErrorClass::Throttled => {
                    self.pacer.throttled(error.usage());
                    let reason = error.reason();
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::OutsideWindow
                    if matches!(path, Path::Response | Path::Update) && !window_refused =>
                {
                    window_refused = true;
                }
                ErrorClass::InvalidParameter if path == Path::Tag => {
                    tracing::info!(page = %self.page.facebook_page_id, "Meta refused the notice tag");
                    self.tag_refused.store(true, Ordering::Relaxed);
                }
                ErrorClass::TokenInvalid => {
                    let status = token_status(&error);
                    let reason = error.reason();
                    self.pause(Pause::Token {
                        reason: reason.clone(),
                        status,
                    });
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                class if class.pauses_page() => {
                    // Not this message's fault: it goes again once the Page is resumed.
                    let reason = error.reason();
                    self.pause(Pause::Page {
                        reason: reason.clone(),
                    });
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::PageRestricted => {
                    self.pacer.restricted();
                    let reason = error.reason();
                    return outbox::requeue(db, &row.id, Some(&reason), None).await;
                }
                ErrorClass::Unreachable => {
                    crate::entries::store::mark_unreachable(
                        db,
                        &row.subscriber_id,
                        &error.reason(),
                    )
                    .await?;
                    return outbox::mark_failed(db, &row.id, &error).await;
                }
                _ => return outbox::mark_failed(db, &row.id, &error).await,
            }
        }
    }

    /// The first reason to pause stays: the sends under way that fail the same way add nothing.
    pub(super) fn pause(&self, pause: Pause) {
        self.paused.lock().expect("lock").get_or_insert(pause);
    }

    pub(super) async fn retry_or_fail(
        &self,
        row: &Row,
        error: &GraphError,
    ) -> Result<(), sqlx::Error> {
        let db = &self.state.db;
        let sending = &self.state.settings.sending;
        let tries = row.attempts + 1;
        if tries >= sending.max_attempts {
            let reason = format!("{} (gave up after {tries} tries)", error.reason());
            let api = error.api();
            let (code, sub) = (api.map(|e| e.code), api.and_then(|e| e.error_subcode));
            return outbox::mark_failed_as(db, &row.id, code, sub, &reason).await;
        }
        // Exponential backoff with full jitter between half and all of the step.
        let step = sending.retry_base_ms.saturating_mul(1 << tries.min(16)) as f64;
        let delay = step * (0.5 + rand::random::<f64>() * 0.5);
        outbox::retry(db, &row.id, error, now_ms() + delay as i64).await
    }
}
