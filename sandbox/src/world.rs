//! The seeded world: the app's test users, the Pages they run and the tasks each holds on each
//! Page. Built in, or read from a JSON file of the same shape (`SANDBOX_WORLD_FILE`):
//!
//! ```json
//! { "app_name": "Giveaways Sandbox",
//!   "pages": [{"id": "101000000000001", "username": "sunnybakery", "name": "Sunny Bakery",
//!              "category": "Bakery", "category_list": [{"id": "197871390225897", "name": "Bakery"}]}],
//!   "users": [{"key": "admin", "name": "Ada Admin", "email": "ada@sandbox.test", "app_role": "administrator",
//!              "tasks": {"101000000000001": ["MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"]}}] }
//! ```
//!
//! A user may also hold a role on the app (`"app_role": "administrator" | "developer" | "tester"`,
//! none by default): with Standard Access, a permission is granted only to people with one (see
//! `permission_access` in [`super::state::Knobs`]). In the built-in world Ada (`admin`) is the
//! app's administrator and `editor` a developer; everyone else, the moderator included (a Page
//! role is not an app role), has none.
//!
//! Ids the app sees are derived, never stored: a user's app-scoped id (ASID) from the app id and
//! the user's key, and a page-scoped id (PSID) from the Page id and the key, so one person has a
//! different PSID on each Page, as on Messenger, and the same one after every reset.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

pub const ALL_TASKS: [&str; 6] = [
    "MANAGE",
    "CREATE_CONTENT",
    "MODERATE",
    "MESSAGING",
    "ADVERTISE",
    "ANALYZE",
];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    pub username: String,
    pub name: String,
    pub category: String,
    #[serde(default)]
    pub category_list: Vec<Category>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Short handle used by the control API and the chat UI (`admin`, `alice`, ...).
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Page id -> tasks on that Page.
    #[serde(default)]
    pub tasks: BTreeMap<String, Vec<String>>,
    /// Role on the app (`administrator`, `developer`, `tester`), apart from any Page role.
    #[serde(default)]
    pub app_role: Option<String>,
}

/// The roles a person can hold on the app.
pub const APP_ROLES: [&str; 3] = ["administrator", "developer", "tester"];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct World {
    #[serde(default = "default_app_name")]
    pub app_name: String,
    pub pages: Vec<Page>,
    pub users: Vec<User>,
    /// Derived lookups (PSID -> (page, user), ASID -> user), rebuilt by [`World::index`].
    #[serde(skip)]
    psids: HashMap<String, (String, String)>,
    #[serde(skip)]
    asids: HashMap<String, String>,
    /// User key -> position in `users`: benchmarks add people by the hundred thousand, and every
    /// lookup by key must stay cheap.
    #[serde(skip)]
    keys: HashMap<String, usize>,
    #[serde(skip)]
    app_id: String,
}

fn default_app_name() -> String {
    "Giveaways Sandbox".into()
}

/// A 16-digit numeric id derived from a label, stable across runs (Meta's ids are numeric strings).
fn numeric_id(label: &str, first_digit: u64) -> String {
    let digest = Sha256::digest(label.as_bytes());
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&digest[..8]);
    let span = 1_000_000_000_000_000u64;
    (first_digit * span + u64::from_be_bytes(raw) % span).to_string()
}

impl World {
    /// The built-in world: two Pages, their admin, an editor, a moderator, a person without
    /// Pages and six would-be entrants.
    pub fn builtin() -> World {
        let page = |id: &str, username: &str, name: &str, category: &str, cat_id: &str| Page {
            id: id.into(),
            username: username.into(),
            name: name.into(),
            category: category.into(),
            category_list: vec![Category {
                id: cat_id.into(),
                name: category.into(),
            }],
        };
        let pages = vec![
            page(
                "101000000000001",
                "sunnybakery",
                "Sunny Bakery",
                "Bakery",
                "197871390225897",
            ),
            page(
                "101000000000002",
                "riverbooks",
                "River Books",
                "Book Shop",
                "197048876974495",
            ),
        ];
        let tasks = |list: &[&str]| list.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        let admin = tasks(&ALL_TASKS);
        let editor = tasks(&ALL_TASKS[1..]);
        let moderator = tasks(&["MODERATE", "ADVERTISE", "ANALYZE"]);
        let user = |key: &str, name: &str, roles: Vec<(&str, Vec<String>)>| User {
            key: key.into(),
            name: name.into(),
            email: Some(format!("{key}@sandbox.test")),
            tasks: roles.into_iter().map(|(p, t)| (p.to_string(), t)).collect(),
            app_role: match key {
                "admin" => Some("administrator".into()),
                "editor" => Some("developer".into()),
                _ => None,
            },
        };
        let users = vec![
            user(
                "admin",
                "Ada Admin",
                vec![
                    ("101000000000001", admin.clone()),
                    ("101000000000002", admin),
                ],
            ),
            user("editor", "Ed Editor", vec![("101000000000001", editor)]),
            user(
                "moderator",
                "Mo Moderator",
                vec![("101000000000002", moderator)],
            ),
            user("nopages", "Nora Nopages", vec![]),
            user("alice", "Alice Entrant", vec![]),
            user("bob", "Bob Entrant", vec![]),
            user("carol", "Carol Entrant", vec![]),
            user("dave", "Dave Entrant", vec![]),
            user("erin", "Erin Entrant", vec![]),
            user("frank", "Frank Entrant", vec![]),
        ];
        World {
            app_name: default_app_name(),
            pages,
            users,
            psids: HashMap::new(),
            asids: HashMap::new(),
            keys: HashMap::new(),
            app_id: String::new(),
        }
    }

    /// Reads a world file; the error names the file and the problem.
    pub fn from_file(path: &std::path::Path) -> Result<World, String> {
        let raw = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let world: World = serde_json::from_str(&raw)
            .map_err(|e| format!("{} is not a valid world file: {e}", path.display()))?;
        if world.pages.is_empty() || world.users.is_empty() {
            return Err(format!(
                "{}: a world needs at least one Page and one user",
                path.display()
            ));
        }
        Ok(world)
    }

    /// Builds the id lookups for this app. Call after loading and after adding a user.
    pub fn index(&mut self, app_id: &str) {
        self.app_id = app_id.to_string();
        self.psids.clear();
        self.asids.clear();
        self.keys.clear();
        for i in 0..self.users.len() {
            self.index_user(i);
        }
    }

    fn index_user(&mut self, i: usize) {
        let key = self.users[i].key.clone();
        self.asids.insert(
            numeric_id(&format!("asid:{}:{key}", self.app_id), 1),
            key.clone(),
        );
        for page in &self.pages {
            self.psids.insert(
                numeric_id(&format!("psid:{}:{key}", page.id), 2),
                (page.id.clone(), key.clone()),
            );
        }
        self.keys.insert(key, i);
    }

    /// Adds a user (indexed at once, without re-indexing everyone); `false` if the key is taken.
    pub fn add_user(&mut self, user: User) -> bool {
        if self.keys.contains_key(&user.key) {
            return false;
        }
        self.users.push(user);
        self.index_user(self.users.len() - 1);
        true
    }

    /// Adds a Page; every user gets a PSID on it. `false` if its id or username is taken.
    pub fn add_page(&mut self, page: Page) -> bool {
        if self.page(&page.id).is_some() || self.page(&page.username).is_some() {
            return false;
        }
        for user in &self.users {
            self.psids.insert(
                numeric_id(&format!("psid:{}:{}", page.id, user.key), 2),
                (page.id.clone(), user.key.clone()),
            );
        }
        self.pages.push(page);
        true
    }

    pub fn asid(&self, user_key: &str) -> String {
        numeric_id(&format!("asid:{}:{user_key}", self.app_id), 1)
    }

    pub fn psid(&self, page_id: &str, user_key: &str) -> String {
        numeric_id(&format!("psid:{page_id}:{user_key}"), 2)
    }

    /// (page id, user key) for a PSID.
    pub fn by_psid(&self, psid: &str) -> Option<&(String, String)> {
        self.psids.get(psid)
    }

    /// A user by key or by app-scoped id.
    pub fn user(&self, key_or_asid: &str) -> Option<&User> {
        let key = self
            .asids
            .get(key_or_asid)
            .map(String::as_str)
            .unwrap_or(key_or_asid);
        self.keys.get(key).map(|&i| &self.users[i])
    }

    pub fn user_by_asid(&self, asid: &str) -> Option<&User> {
        self.asids
            .get(asid)
            .and_then(|key| self.keys.get(key))
            .map(|&i| &self.users[i])
    }

    /// A user by key, to change (a Page's new admin gets its tasks).
    pub fn user_mut(&mut self, key: &str) -> Option<&mut User> {
        self.keys.get(key).map(|&i| &mut self.users[i])
    }

    /// A Page by id or by username (case-insensitive, as m.me links are).
    pub fn page(&self, id_or_username: &str) -> Option<&Page> {
        self.pages
            .iter()
            .find(|p| p.id == id_or_username || p.username.eq_ignore_ascii_case(id_or_username))
    }

    pub fn tasks(&self, user_key: &str, page_id: &str) -> &[String] {
        self.keys
            .get(user_key)
            .and_then(|&i| self.users[i].tasks.get(page_id))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// What the control API shows: every user with ASID and PSIDs, every Page.
    pub fn describe(&self) -> serde_json::Value {
        let users: Vec<_> = self
            .users
            .iter()
            .map(|u| {
                let psids: BTreeMap<_, _> = self
                    .pages
                    .iter()
                    .map(|p| (p.id.clone(), self.psid(&p.id, &u.key)))
                    .collect();
                serde_json::json!({
                    "key": u.key, "id": self.asid(&u.key), "name": u.name, "email": u.email,
                    "tasks": u.tasks, "app_role": u.app_role, "psids": psids,
                })
            })
            .collect();
        serde_json::json!({ "app_name": self.app_name, "pages": self.pages, "users": users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psids_are_page_scoped_and_stable() {
        let mut world = World::builtin();
        world.index("1");
        let a = world.psid("101000000000001", "alice");
        let b = world.psid("101000000000002", "alice");
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert_eq!(
            world.by_psid(&a),
            Some(&("101000000000001".to_string(), "alice".to_string()))
        );
        let asid = world.asid("alice");
        assert_eq!(world.user(&asid).unwrap().key, "alice");
        assert_eq!(world.page("SunnyBakery").unwrap().id, "101000000000001");
    }

    #[test]
    fn people_and_pages_added_later_are_indexed_like_the_seeded_ones() {
        let mut world = World::builtin();
        world.index("1");
        let fan = User {
            key: "fan1".into(),
            name: "Fan".into(),
            email: None,
            tasks: BTreeMap::new(),
            app_role: None,
        };
        assert!(world.add_user(fan.clone()));
        assert!(!world.add_user(fan), "a key is taken once");
        let psid = world.psid("101000000000001", "fan1");
        assert_eq!(world.by_psid(&psid).unwrap().1, "fan1");
        assert_eq!(world.user(&world.asid("fan1")).unwrap().key, "fan1");

        let shop = Page {
            id: "103000000000001".into(),
            username: "shop".into(),
            name: "Shop".into(),
            category: "Shop".into(),
            category_list: Vec::new(),
        };
        assert!(world.add_page(shop.clone()));
        assert!(!world.add_page(shop), "an id is taken once");
        for user in ["alice", "fan1"] {
            let psid = world.psid("103000000000001", user);
            assert_eq!(world.by_psid(&psid).unwrap().0, "103000000000001");
        }
    }
}
