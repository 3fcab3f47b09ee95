//! A PostgreSQL session for the tests themselves (the stack's server, database `test`).
#![allow(dead_code)]

/// A PostgreSQL session for the test itself.
pub struct Pg {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Pg {
    pub fn connect() -> Pg {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=test",
                tokio_postgres::NoTls,
            )
            .await
            .expect("PostgreSQL at 127.0.0.1:5432 (scripts/stack.sh up)");
            tokio::spawn(conn);
            client
        });
        Pg { rt, client }
    }
    pub fn exec(&self, sql: &str) {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{}: {:?}", sql, e));
    }
    pub fn one_i64(&self, sql: &str) -> i64 {
        self.rt
            .block_on(self.client.query_one(sql, &[]))
            .unwrap()
            .get(0)
    }
}
