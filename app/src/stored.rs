//! Words and flags as the database keeps them, as types in Rust.
//!
//! Statuses and kinds are stored as text (portable between SQLite and PostgreSQL) and read into
//! enums declared with [`word_enum!`]: each variant names its stored word once, which is also
//! its name on the wire (server functions' JSON), so nothing the browser or the sandbox sees
//! changes. A word the enum does not know is a decoding error that names the column and the word,
//! never a silent default. Flags are stored as `BIGINT` 0/1 and read as `bool` through [`Flag`].

/// A stored word no variant of the enum names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct Unknown {
    /// What the word was meant to be (`campaign publish state`, ...).
    pub what: &'static str,
    pub value: String,
}

/// Declares an enum named by words (stored as text, or sent as one): `as_str()` (what is written), `FromStr`/`TryFrom<String>`
/// (refusing unknown words with [`Unknown`]), serde under the same words, and (on the server)
/// sqlx decoding through the `Any` driver, so plain and `Option` fields and `query_scalar` read
/// it alike. (`#[sqlx(try_from = "String")]` cannot reach an `Option` field nor a scalar.)
#[macro_export]
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored (and sent on the wire).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::stored::Unknown;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    other => Err($crate::stored::Unknown {
                        what: $what,
                        value: other.to_string(),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::stored::Unknown;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        #[cfg(feature = "ssr")]
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        #[cfg(feature = "ssr")]
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

/// A flag stored as `BIGINT` 0/1, read as a `bool`: `#[sqlx(try_from = "Flag")] field: bool`.
/// (The `Any` driver decodes `bool` only from a boolean column, which SQLite does not have.)
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

#[cfg(feature = "ssr")]
impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

#[cfg(feature = "ssr")]
impl Flag {
    /// What a flag is written as.
    pub fn stored(value: bool) -> i64 {
        i64::from(value)
    }
}

#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }
    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Flag(
            <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value)? != 0,
        ))
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::campaigns::PublishState;
    use crate::notices::NoticeStatus;

    #[derive(sqlx::FromRow, Debug)]
    struct Row {
        publish_state: PublishState,
        end_notice: Option<NoticeStatus>,
        #[sqlx(try_from = "Flag")]
        require_login: bool,
    }

    async fn db() -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap()
    }

    async fn read(sql: &str) -> Result<Row, sqlx::Error> {
        sqlx::query_as(sql).fetch_one(&db().await).await
    }

    #[test]
    fn words_are_written_and_read_as_stored() {
        for state in PublishState::ALL {
            assert_eq!(state.as_str().parse::<PublishState>(), Ok(*state));
            // The wire keeps the stored word: server functions' JSON does not change.
            assert_eq!(
                serde_json::to_string(state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
        }
        assert_eq!(
            "live".parse::<PublishState>(),
            Err(Unknown {
                what: "campaign publish state",
                value: "live".into()
            })
        );
        assert_eq!(
            PublishState::try_from("Draft".to_string())
                .unwrap_err()
                .to_string(),
            "unknown campaign publish state `Draft`"
        );
    }

    #[tokio::test]
    async fn rows_decode_words_and_flags() {
        let row = read(
            "SELECT 'archived' AS publish_state, 'sending' AS end_notice,
                    CAST(1 AS BIGINT) AS require_login",
        )
        .await
        .unwrap();
        assert_eq!(row.publish_state, PublishState::Archived);
        assert_eq!(row.end_notice, Some(NoticeStatus::Sending));
        assert!(row.require_login);
        let row = read(
            "SELECT 'draft' AS publish_state, NULL AS end_notice,
                    CAST(0 AS BIGINT) AS require_login",
        )
        .await
        .unwrap();
        assert_eq!(row.end_notice, None);
        assert!(!row.require_login);
    }

    #[tokio::test]
    async fn an_unknown_stored_word_is_refused_by_name() {
        let error = read(
            "SELECT 'live' AS publish_state, NULL AS end_notice, CAST(0 AS BIGINT) AS require_login",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("publish_state"), "{error}");
        assert!(
            error.contains("unknown campaign publish state `live`"),
            "{error}"
        );
        let error = read(
            "SELECT 'draft' AS publish_state, 'went' AS end_notice, CAST(0 AS BIGINT) AS require_login",
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown notice status `went`"), "{error}");
        let scalar: Result<PublishState, _> = sqlx::query_scalar("SELECT 'gone'")
            .fetch_one(&db().await)
            .await;
        assert!(scalar
            .unwrap_err()
            .to_string()
            .contains("unknown campaign publish state `gone`"));
    }
}
