//! Looks documents up in MongoDB by `_id` through one client, for benchmarks that wait
//! for a sink's last document. A point lookup is cheap (counting documents, or a new
//! connection per poll, slowed the writes being measured several times over), but not
//! free: every 10 ms they took 5–10 % of SecantusDB's write rate, so a benchmark that
//! compares two writers times both with them.

use mongodb::bson::{doc, Document};

pub fn mongo_uri() -> String {
    std::env::var("SLUICE_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

pub struct Probe {
    rt: tokio::runtime::Runtime,
    client: mongodb::Client,
    db: String,
}

impl Probe {
    pub fn new(db: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt
            .block_on(mongodb::Client::with_uri_str(mongo_uri()))
            .unwrap();
        Probe {
            rt,
            client,
            db: db.to_string(),
        }
    }

    /// Whether `coll` holds the document with `_id` `id`.
    pub fn has(&self, coll: &str, id: i64) -> bool {
        self.rt.block_on(async {
            self.client
                .database(&self.db)
                .collection::<Document>(coll)
                .find_one(doc! {"_id": id})
                .await
                .ok()
                .flatten()
                .is_some()
        })
    }

    /// The documents in `coll` (a full count: call it once the writes are done).
    pub fn count(&self, coll: &str) -> u64 {
        self.rt.block_on(async {
            self.client
                .database(&self.db)
                .collection::<Document>(coll)
                .count_documents(doc! {})
                .await
                .unwrap()
        })
    }
}
