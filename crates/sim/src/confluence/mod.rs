//! The Confluence Cloud twin: REST v2 under `/wiki/api/v2`, the v1 endpoints still needed under
//! `/wiki/rest/api`, attachment downloads under `/wiki/download`, all behind Basic auth.
//!
//! State is one [`Dataset`] and its [`Index`] behind a `RwLock`: reads share it, writes take it
//! briefly and rebuild the index. `docs/sim.md` lists every endpoint and what it implements.

pub mod admin;
pub mod api;
mod attachments;
pub mod cql;
pub mod custom;
pub(crate) mod edits;
pub mod events;
pub mod perms;
pub mod render;
pub mod v1;
pub(crate) mod v1w;
pub mod v2;
pub mod view;
mod write;
pub mod xhtml;

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::routing::{delete, get, post, put};
use base64::Engine as _;

use crate::model::{ContentKind, Dataset, Index, Status, Subjects};
use crate::server::Sim;
use api::ApiError;

/// An account the twin accepts: `Authorization: Basic base64(email:token)`.
#[derive(Clone, Debug)]
pub struct Credential {
    pub email: String,
    pub token: String,
    /// The account in the dataset (index into `Dataset::users`).
    pub user: usize,
    /// False for an account without Confluence access: every request answers 403.
    pub licensed: bool,
}

/// The authenticated account of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account_id: String,
    /// Ids of the groups the account is in.
    pub groups: Vec<String>,
}

pub fn admits(s: &Subjects, c: &Caller) -> bool {
    s.is_empty() || s.users.contains(&c.account_id) || s.groups.iter().any(|g| c.groups.contains(g))
}

/// A fast hasher for numeric ids (the default SipHash is most of a listing's time).
#[derive(Clone, Copy, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ *b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

pub type IdSet = std::collections::HashSet<u64, std::hash::BuildHasherDefault<IdHasher>>;

/// The content one caller may not see (read restrictions on it or an ancestor).
#[derive(Clone)]
pub struct Hidden(Arc<IdSet>);

impl Hidden {
    /// Whether content `id` (known to exist) is visible.
    pub fn sees(&self, id: u64) -> bool {
        self.0.is_empty() || !self.0.contains(&id)
    }
}

type SortedIds = std::collections::HashMap<(ContentKind, &'static str), Arc<Vec<u64>>>;
type CqlHits = std::collections::HashMap<(String, String), Arc<Vec<u64>>>;

/// The dataset and its lookups.
pub struct Data {
    pub d: Dataset,
    pub ix: Index,
    /// Per account: what it cannot see; cleared on every change.
    hidden: Mutex<std::collections::HashMap<String, Arc<IdSet>>>,
    /// Per (kind, sort field): every content id of that kind in ascending (key, id) order;
    /// built on first use, cleared on every change.
    sorted: Mutex<SortedIds>,
    /// Per (CQL text, account): the ordered hits of a query without time functions; cleared on
    /// every change.
    cql_hits: Mutex<CqlHits>,
    /// Per (content id, hash of the expansions and base URL): a v1 rendering as JSON text;
    /// cleared on every change.
    rendered: Mutex<std::collections::HashMap<(u64, u64), Arc<str>>>,
}

impl Data {
    pub fn new(mut d: Dataset) -> Data {
        d.refresh();
        let ix = Index::build(&d);
        Data {
            d,
            ix,
            hidden: Mutex::new(Default::default()),
            sorted: Mutex::new(Default::default()),
            cql_hits: Mutex::new(Default::default()),
            rendered: Mutex::new(Default::default()),
        }
    }

    /// Rebuilds the lookups and derived fields; every write ends with it.
    pub fn reindex(&mut self) {
        self.d.refresh();
        self.ix = Index::build(&self.d);
        self.hidden
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.clear_caches();
    }

    /// Drops every cache derived from the dataset.
    pub fn clear_caches(&mut self) {
        self.hidden
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.sorted
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.cql_hits
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.rendered
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The cached rendering of content `id` under `variant`, or `render`ed and remembered.
    pub fn rendered<E>(
        &self,
        id: u64,
        variant: u64,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<str>, E> {
        if let Some(s) = self
            .rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(id, variant))
        {
            return Ok(s.clone());
        }
        let s: Arc<str> = render()?.into();
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 50_000 {
            cache.clear();
        }
        cache.insert((id, variant), s.clone());
        Ok(s)
    }

    /// Every content id of `kind` in ascending (`field` key, id) order (`created-date`,
    /// `modified-date`, `title`), computed once per change.
    pub fn sorted_ids(&self, kind: ContentKind, field: &'static str) -> Arc<Vec<u64>> {
        let mut cache = self.sorted.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(&(kind, field)) {
            return v.clone();
        }
        let mut items: Vec<&crate::model::Content> = self
            .d
            .contents
            .values()
            .filter(|c| c.kind == kind)
            .collect();
        match field {
            "created-date" => items.sort_by_key(|c| (c.created_at, c.id)),
            "modified-date" => items.sort_by_key(|c| (c.modified_at, c.id)),
            "title" => items.sort_by(|a, b| (&a.title, a.id).cmp(&(&b.title, b.id))),
            _ => items.sort_by_key(|c| c.id),
        }
        let v = Arc::new(items.into_iter().map(|c| c.id).collect::<Vec<_>>());
        cache.insert((kind, field), v.clone());
        v
    }

    /// The cached hits of a CQL query for an account, or `compute`d and remembered.
    pub fn cql_hits(
        &self,
        cql: &str,
        account: &str,
        compute: impl FnOnce() -> Vec<u64>,
    ) -> Arc<Vec<u64>> {
        let key = (cql.to_string(), account.to_string());
        if let Some(v) = self
            .cql_hits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return v.clone();
        }
        let v = Arc::new(compute());
        let mut cache = self.cql_hits.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(key, v.clone());
        v
    }

    /// What `caller` cannot see, computed once per caller and change.
    pub fn hidden(&self, caller: &Caller) -> Hidden {
        let mut cache = self.hidden.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = cache.get(&caller.account_id) {
            return Hidden(h.clone());
        }
        let mut set = IdSet::default();
        for (id, gs) in &self.ix.guards {
            if !gs.iter().all(|g| {
                self.d
                    .contents
                    .get(g)
                    .is_some_and(|c| admits(&c.restrictions.read, caller))
            }) {
                set.insert(*id);
            }
        }
        self.hidden_by_space(caller, &mut set);
        let set = Arc::new(set);
        cache.insert(caller.account_id.clone(), set.clone());
        Hidden(set)
    }

    /// Whether `caller` may see content `id`: its own read restriction and every ancestor's
    /// must admit them (view restrictions are inherited).
    pub fn can_view(&self, caller: &Caller, id: u64) -> bool {
        self.d.contents.contains_key(&id) && self.hidden(caller).sees(id)
    }

    /// Whether `caller` may change content `id` (view, plus the content's update restriction).
    pub fn can_edit(&self, caller: &Caller, id: u64) -> bool {
        self.can_view(caller, id)
            && self
                .d
                .contents
                .get(&id)
                .is_some_and(|c| admits(&c.restrictions.update, caller))
    }

    /// Visibility of anything with a container: content, attachments and comments.
    pub fn can_view_any(&self, caller: &Caller, id: u64) -> bool {
        self.sees_any(&self.hidden(caller), id)
    }

    /// [`Data::can_view_any`] with the caller's [`Hidden`] set fetched once (listings).
    pub fn sees_any(&self, hidden: &Hidden, id: u64) -> bool {
        if self.d.contents.contains_key(&id) {
            return hidden.sees(id);
        }
        if let Some(a) = self.d.attachments.get(&id) {
            return self.d.contents.contains_key(&a.container_id) && hidden.sees(a.container_id);
        }
        if let Some(c) = self.d.comments.get(&id) {
            return self.sees_any(hidden, c.container_id);
        }
        false
    }

    /// Content that exists for API purposes (purged content is gone from the map).
    pub fn live(&self, id: u64) -> bool {
        self.d
            .contents
            .get(&id)
            .is_some_and(|c| c.status != Status::Deleted)
    }
}

/// The Confluence twin's state.
pub struct Confluence {
    data: RwLock<Data>,
    initial: Arc<Dataset>,
    pub credentials: Vec<Credential>,
    clock: Mutex<i64>,
}

/// The newest timestamp of any version in the dataset (epoch ms).
fn latest_change(d: &Dataset) -> i64 {
    let contents = d
        .contents
        .values()
        .flat_map(|c| c.versions.iter().map(|v| v.created_at));
    let comments = d
        .comments
        .values()
        .flat_map(|c| c.versions.iter().map(|v| v.created_at));
    let attachments = d
        .attachments
        .values()
        .flat_map(|a| a.versions.iter().map(|v| v.created_at));
    let custom = d
        .custom_contents
        .values()
        .flat_map(|c| c.versions.iter().map(|v| v.created_at));
    contents
        .chain(comments)
        .chain(attachments)
        .chain(custom)
        .max()
        .unwrap_or(0)
}

impl Confluence {
    pub fn new(d: Dataset, credentials: Vec<Credential>) -> Confluence {
        let initial = Arc::new(d.clone());
        // The clock never runs behind the site's own history: a generated edit can be dated
        // after the wall clock (histories are laid out forward from a base time), and a write
        // made now must still be the newest change, as it is on the service.
        let latest = latest_change(&d);
        Confluence {
            data: RwLock::new(Data::new(d)),
            initial,
            credentials,
            clock: Mutex::new(latest),
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The dataset for a change. Every derived cache is dropped here, so that writes which do
    /// not rebuild the index (labels, properties, in-place body rewrites) cannot leave a stale
    /// listing, search or rendering behind.
    pub fn write(&self) -> RwLockWriteGuard<'_, Data> {
        let mut g = self.data.write().unwrap_or_else(|e| e.into_inner());
        g.clear_caches();
        g
    }

    /// Back to the generated dataset.
    pub fn reset(&self) {
        *self.write() = Data::new((*self.initial).clone());
    }

    /// Now, in ms, strictly increasing across calls (two writes never share a timestamp, so
    /// `lastmodified` windows and `modified-date` sorts are unambiguous).
    pub fn now(&self) -> i64 {
        let mut last = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        let t = crate::time::now_ms().max(*last + 1);
        *last = t;
        t
    }

    /// Checks `Authorization: Basic …` against the configured accounts. The token is compared
    /// and dropped; it is never logged or stored elsewhere.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Caller, ApiError> {
        let Some(header) = header else {
            // Anonymous access, when some space grants it (perms.rs).
            if perms::anonymous_enabled(&self.read().d) {
                return Ok(perms::anonymous_caller());
            }
            return Err(ApiError::unauthorized());
        };
        let (scheme, rest) = header.split_once(' ').ok_or_else(ApiError::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(ApiError::unauthorized());
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| ApiError::unauthorized())?;
        let raw = String::from_utf8(raw).map_err(|_| ApiError::unauthorized())?;
        let (email, token) = raw.split_once(':').ok_or_else(ApiError::unauthorized)?;
        let configured = self.credentials.iter().find(|c| {
            c.email.eq_ignore_ascii_case(email)
                && constant_time_eq(c.token.as_bytes(), token.as_bytes())
        });
        let cred = match configured {
            Some(c) => c.clone(),
            // Every other user of the dataset signs in with its own token (perms.rs).
            None => self.user_credential(email, token)?,
        };
        if !cred.licensed {
            return Err(ApiError::forbidden(
                "Current user not permitted to use Confluence",
            ));
        }
        let data = self.read();
        let user = data
            .d
            .users
            .get(cred.user)
            .ok_or_else(ApiError::unauthorized)?;
        let groups = data
            .d
            .groups
            .iter()
            .filter(|g| g.members.contains(&user.account_id))
            .map(|g| g.id.clone())
            .collect();
        Ok(Caller {
            account_id: user.account_id.clone(),
            groups,
        })
    }
}

impl Confluence {
    /// A dataset user's own credential (`email:`[`perms::user_token`]); the configured
    /// accounts' emails are theirs alone, and the unlicensed account stays unlicensed.
    fn user_credential(&self, email: &str, token: &str) -> Result<Credential, ApiError> {
        if self
            .credentials
            .iter()
            .any(|c| c.email.eq_ignore_ascii_case(email))
        {
            return Err(ApiError::unauthorized());
        }
        let data = self.read();
        let (i, u) = data
            .d
            .users
            .iter()
            .enumerate()
            .find(|(_, u)| u.email.eq_ignore_ascii_case(email))
            .ok_or_else(ApiError::unauthorized)?;
        if !constant_time_eq(
            perms::user_token(&u.account_id).as_bytes(),
            token.as_bytes(),
        ) {
            return Err(ApiError::unauthorized());
        }
        Ok(Credential {
            email: u.email.clone(),
            token: String::new(),
            user: i,
            licensed: i != crate::generator::UNLICENSED_USER,
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every Confluence route (paths relative to the server root).
pub fn routes() -> Router<Arc<Sim>> {
    const V2: &str = "/wiki/api/v2";
    Router::new()
        // spaces
        .route(&format!("{V2}/spaces"), get(v2::spaces))
        .route(&format!("{V2}/spaces/{{id}}"), get(v2::space))
        .route(&format!("{V2}/spaces/{{id}}/pages"), get(v2::space_pages))
        .route(
            &format!("{V2}/spaces/{{id}}/blogposts"),
            get(v2::space_blogposts),
        )
        .route(&format!("{V2}/spaces/{{id}}/labels"), get(v2::space_labels))
        .route(
            &format!("{V2}/spaces/{{id}}/content/labels"),
            get(v2::space_content_labels),
        )
        .route(
            &format!("{V2}/spaces/{{id}}/permissions"),
            get(v2::space_permissions),
        )
        .route(
            &format!("{V2}/spaces/{{id}}/properties"),
            get(v2::space_properties).post(write::create_space_property),
        )
        .route(
            &format!("{V2}/spaces/{{id}}/properties/{{pid}}"),
            get(v2::space_property),
        )
        // pages
        .route(
            &format!("{V2}/pages"),
            get(v2::pages).post(write::create_page),
        )
        .route(
            &format!("{V2}/pages/{{id}}"),
            get(v2::page)
                .put(write::update_page)
                .delete(write::delete_page),
        )
        .route(
            &format!("{V2}/pages/{{id}}/versions"),
            get(v2::content_versions),
        )
        .route(
            &format!("{V2}/pages/{{id}}/versions/{{n}}"),
            get(v2::content_version),
        )
        .route(
            &format!("{V2}/pages/{{id}}/attachments"),
            get(v2::content_attachments),
        )
        .route(
            &format!("{V2}/pages/{{id}}/labels"),
            get(v2::content_labels),
        )
        .route(
            &format!("{V2}/pages/{{id}}/properties"),
            get(v2::content_properties).post(write::create_property),
        )
        .route(
            &format!("{V2}/pages/{{id}}/properties/{{pid}}"),
            get(v2::content_property)
                .put(write::update_property)
                .delete(write::delete_property),
        )
        .route(
            &format!("{V2}/pages/{{id}}/footer-comments"),
            get(v2::content_footer_comments),
        )
        .route(
            &format!("{V2}/pages/{{id}}/inline-comments"),
            get(v2::content_inline_comments),
        )
        .route(
            &format!("{V2}/pages/{{id}}/children"),
            get(v2::page_children),
        )
        .route(
            &format!("{V2}/pages/{{id}}/direct-children"),
            get(v2::direct_children),
        )
        .route(
            &format!("{V2}/pages/{{id}}/descendants"),
            get(v2::descendants),
        )
        .route(&format!("{V2}/pages/{{id}}/ancestors"), get(v2::ancestors))
        // blog posts
        .route(
            &format!("{V2}/blogposts"),
            get(v2::blogposts).post(write::create_blogpost),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}"),
            get(v2::blogpost)
                .put(write::update_blogpost)
                .delete(write::delete_blogpost),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/versions"),
            get(v2::content_versions),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/versions/{{n}}"),
            get(v2::content_version),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/attachments"),
            get(v2::content_attachments),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/labels"),
            get(v2::content_labels),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/properties"),
            get(v2::content_properties).post(write::create_property),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/properties/{{pid}}"),
            get(v2::content_property)
                .put(write::update_property)
                .delete(write::delete_property),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/footer-comments"),
            get(v2::content_footer_comments),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/inline-comments"),
            get(v2::content_inline_comments),
        )
        // folders
        .route(&format!("{V2}/folders"), post(write::create_folder))
        .route(
            &format!("{V2}/folders/{{id}}"),
            get(v2::folder).delete(write::delete_folder),
        )
        .route(
            &format!("{V2}/folders/{{id}}/direct-children"),
            get(v2::direct_children),
        )
        .route(
            &format!("{V2}/folders/{{id}}/descendants"),
            get(v2::descendants),
        )
        .route(
            &format!("{V2}/folders/{{id}}/ancestors"),
            get(v2::ancestors),
        )
        // attachments, labels, comments, tasks
        .route(&format!("{V2}/attachments"), get(v2::attachments))
        .route(
            &format!("{V2}/attachments/{{id}}"),
            get(v2::attachment).delete(edits::delete_attachment),
        )
        .route(
            &format!("{V2}/attachments/{{id}}/versions"),
            get(attachments::versions),
        )
        .route(
            &format!("{V2}/attachments/{{id}}/labels"),
            get(attachments::labels),
        )
        .route(
            &format!("{V2}/attachments/{{id}}/properties"),
            get(attachments::properties),
        )
        .route(&format!("{V2}/labels"), get(v2::labels))
        .route(
            &format!("{V2}/footer-comments"),
            get(v2::footer_comments).post(write::create_footer_comment),
        )
        .route(
            &format!("{V2}/footer-comments/{{id}}"),
            get(v2::footer_comment)
                .put(edits::update_comment)
                .delete(edits::delete_comment),
        )
        .route(
            &format!("{V2}/footer-comments/{{id}}/children"),
            get(v2::comment_children),
        )
        .route(
            &format!("{V2}/inline-comments"),
            get(v2::inline_comments).post(edits::create_inline_comment),
        )
        .route(
            &format!("{V2}/inline-comments/{{id}}"),
            get(v2::inline_comment)
                .put(edits::update_comment)
                .delete(edits::delete_comment),
        )
        .route(
            &format!("{V2}/inline-comments/{{id}}/children"),
            get(v2::comment_children),
        )
        .route(&format!("{V2}/tasks"), get(v2::tasks))
        .route(
            &format!("{V2}/tasks/{{id}}"),
            get(v2::task).put(edits::update_task),
        )
        // custom content
        .route(&format!("{V2}/custom-content"), get(custom::all))
        .route(&format!("{V2}/custom-content/{{id}}"), get(custom::single))
        .route(
            &format!("{V2}/custom-content/{{id}}/labels"),
            get(custom::labels),
        )
        .route(
            &format!("{V2}/custom-content/{{id}}/properties"),
            get(custom::properties),
        )
        .route(
            &format!("{V2}/custom-content/{{id}}/versions"),
            get(custom::versions),
        )
        .route(
            &format!("{V2}/custom-content/{{id}}/versions/{{n}}"),
            get(custom::version),
        )
        .route(
            &format!("{V2}/spaces/{{id}}/custom-content"),
            get(custom::of_space),
        )
        .route(
            &format!("{V2}/pages/{{id}}/custom-content"),
            get(custom::of_content),
        )
        .route(
            &format!("{V2}/blogposts/{{id}}/custom-content"),
            get(custom::of_content),
        )
        // v1
        .route("/wiki/rest/api/content/search", get(v1::search))
        .route("/wiki/rest/api/search", get(v1::site_search))
        .route("/wiki/rest/api/space", get(v1::spaces))
        .route("/wiki/rest/api/space/{key}", get(v1::space))
        .route(
            "/wiki/rest/api/content",
            get(v1::contents).post(v1w::create),
        )
        .route(
            "/wiki/rest/api/content/{id}",
            get(v1::content).put(v1w::update).delete(v1w::delete),
        )
        .route(
            "/wiki/rest/api/content/{id}/property/{key}",
            get(v1w::get_property)
                .put(v1w::update_property)
                .delete(v1w::delete_property),
        )
        .route("/wiki/rest/api/group", get(v1::groups))
        .route("/wiki/rest/api/group/by-id", get(v1::group_by_id))
        .route(
            "/wiki/rest/api/group/{id}/membersByGroupId",
            get(v1::group_members),
        )
        .route("/wiki/rest/api/user", get(v1::user))
        .route("/wiki/rest/api/user/current", get(v1::current_user))
        .route("/wiki/rest/api/user/memberof", get(perms::member_of))
        .route(
            "/wiki/rest/api/group/userByGroupId",
            post(perms::add_member).delete(perms::remove_member),
        )
        .route(
            "/wiki/rest/api/content/{id}/permission/check",
            post(perms::check),
        )
        .route(
            "/wiki/rest/api/content/{id}/restriction",
            get(v1::restrictions)
                .put(edits::put_restrictions)
                .post(edits::post_restrictions)
                .delete(edits::delete_restrictions),
        )
        .route(
            "/wiki/rest/api/content/{id}/restriction/byOperation/{op}/user",
            get(edits::get_user_restriction)
                .put(edits::put_user_restriction)
                .delete(edits::delete_user_restriction),
        )
        .route(
            "/wiki/rest/api/content/{id}/restriction/byOperation/{op}/byGroupId/{group}",
            get(edits::get_group_restriction)
                .put(edits::put_group_restriction)
                .delete(edits::delete_group_restriction),
        )
        .route("/wiki/rest/api/content/{id}/history", get(edits::history))
        .route(
            "/wiki/rest/api/content/{id}/child/{kind}",
            get(edits::children_v1),
        )
        .route(
            "/wiki/rest/api/content/{id}/property",
            get(edits::properties_v1).post(v1w::create_property),
        )
        .route(
            "/wiki/rest/api/content/{id}/restriction/byOperation",
            get(v1::restrictions_by_operation),
        )
        .route(
            "/wiki/rest/api/content/{id}/restriction/byOperation/{op}",
            get(v1::restriction_for_operation),
        )
        .route(
            "/wiki/rest/api/content/{id}/label",
            get(v1::labels)
                .post(v1::add_labels)
                .delete(v1::remove_label_query),
        )
        .route(
            "/wiki/rest/api/content/{id}/label/{label}",
            delete(v1::remove_label),
        )
        .route(
            "/wiki/rest/api/content/{id}/move/{position}/{target}",
            put(v1::move_page),
        )
        .route(
            "/wiki/rest/api/content/{id}/child/attachment",
            get(v1::list_attachments)
                .post(v1::upload_attachments)
                .put(v1::upload_attachments),
        )
        .route(
            "/wiki/rest/api/content/{id}/child/attachment/{att}/data",
            post(v1::upload_attachment_data),
        )
        .route(
            "/wiki/rest/api/content/{id}/child/attachment/{att}/download",
            get(v1::download_v1),
        )
        .route("/wiki/download/attachments/{id}/{name}", get(v1::download))
}
