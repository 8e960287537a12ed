//! Every integration test of the server, in one test binary.
//!
//! Each binary links the whole server and its dependencies; one per file made ten copies, and a
//! clean CI checkout ran out of disk. Files stay split by subject as modules.

#[macro_use]
mod support;
mod sandbox_common;

mod admins;
mod alerts;
mod campaign_editor;
mod cli;
mod consent;
mod contract;
mod crowd;
mod data_layer;
mod deletion;
mod draw;
mod entrants;
mod entrants_admin;
mod graph_client;
mod handoff;
mod insight;
mod lifecycle;
mod notices;
mod notices_crash;
mod pacing;
mod public_pages;
mod receipts;
mod retention;
mod sandbox_login;
mod sandbox_messenger;
mod sandbox_send;
mod sandbox_strict;
mod sandbox_webhooks;
mod server;
mod sessions_rights;
mod sql_statements;
mod stored_words;
mod table_owners;
mod uploads;
mod utility;
mod web_edge;
mod winners;
