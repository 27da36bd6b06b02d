//! Sharding as Discord does it: a session names its shard `[id, count]` at IDENTIFY, each
//! server's events go to shard `(guild_id >> 22) % count`, and DMs (events without a server)
//! go to shard 0. `GET /gateway/bot` recommends a shard count and says how many sessions may
//! start at once (`session_start_limit.max_concurrency`).

use serde_json::{Value, json};

/// Discord's limit of servers on one shard; a session that would hold more closes with 4011.
pub(crate) const GUILDS_PER_SHARD: usize = 2500;

/// One shard of a sharded bot: `id` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    pub id: u64,
    pub count: u64,
}

impl Shard {
    /// The shard of a bot that identifies without a `shard` array.
    pub const ONLY: Self = Self { id: 0, count: 1 };

    /// The `shard` of an IDENTIFY payload: absent is `[0, 1]`; anything other than two
    /// numbers with `id < count` is invalid (Discord closes with 4010).
    pub(crate) fn from_identify(d: &Value) -> Option<Self> {
        let Some(shard) = d.get("shard") else {
            return Some(Self::ONLY);
        };
        match shard.as_array().map(Vec::as_slice) {
            Some([id, count]) => {
                let (id, count) = (id.as_u64()?, count.as_u64()?);
                (count >= 1 && id < count).then_some(Self { id, count })
            }
            _ => None,
        }
    }

    /// Whether this shard receives the events of `guild` (`None`: DMs and other events
    /// without a server, which Discord sends on shard 0).
    pub fn owns(self, guild: Option<u64>) -> bool {
        match guild {
            Some(guild) => shard_of(guild, self.count) == self.id,
            None => self.id == 0,
        }
    }

    pub(crate) fn json(self) -> Value {
        json!([self.id, self.count])
    }
}

/// The shard that carries a server's events when the bot runs `count` shards.
pub fn shard_of(guild: u64, count: u64) -> u64 {
    (guild >> 22) % count.max(1)
}

/// What `GET /gateway/bot` answers, and Discord's per-shard server limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sharding {
    pub recommended: u64,
    pub max_concurrency: u64,
    pub guilds_per_shard: usize,
}

impl Default for Sharding {
    fn default() -> Self {
        Self {
            recommended: 1,
            max_concurrency: 1,
            guilds_per_shard: GUILDS_PER_SHARD,
        }
    }
}

impl Sharding {
    /// The body of `GET /gateway/bot`.
    pub(crate) fn gateway_bot(&self, url: &str) -> Value {
        json!({
            "url": url,
            "shards": self.recommended,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000,
                "reset_after": 0,
                "max_concurrency": self.max_concurrency,
            },
        })
    }
}

/// The server an event is about, read from its payload: `guild_id`, or the `id` of a
/// GUILD_CREATE / GUILD_UPDATE / GUILD_DELETE.
pub(crate) fn guild_of(event: &str, data: &Value) -> Option<u64> {
    let id = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).or(v.as_u64());
    data.get("guild_id").and_then(id).or_else(|| {
        matches!(event, "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE")
            .then(|| data.get("id").and_then(id))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shard_is_the_only_shard_and_a_wrong_one_is_refused() {
        assert_eq!(Shard::from_identify(&json!({})), Some(Shard::ONLY));
        assert_eq!(
            Shard::from_identify(&json!({"shard": [2, 4]})),
            Some(Shard { id: 2, count: 4 })
        );
        for wrong in [
            json!([4, 4]),
            json!([0, 0]),
            json!([1]),
            json!([0, 1, 2]),
            json!(["0", "1"]),
            json!([-1, 2]),
            json!(null),
        ] {
            assert_eq!(
                Shard::from_identify(&json!({"shard": wrong})),
                None,
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_server_belongs_to_the_shard_of_its_id_and_dms_to_shard_0() {
        let guild = (7u64 << 22) | 5;
        assert_eq!(shard_of(guild, 4), 3);
        assert!(Shard { id: 3, count: 4 }.owns(Some(guild)));
        assert!(!Shard { id: 0, count: 4 }.owns(Some(guild)));
        assert!(Shard::ONLY.owns(Some(guild)));
        assert!(Shard { id: 0, count: 4 }.owns(None));
        assert!(!Shard { id: 1, count: 4 }.owns(None));
    }

    #[test]
    fn events_name_their_server() {
        let id = json!("81064793915035648");
        assert_eq!(
            guild_of("MESSAGE_CREATE", &json!({"guild_id": id})),
            Some(81_064_793_915_035_648)
        );
        assert_eq!(
            guild_of("GUILD_CREATE", &json!({"id": id})),
            Some(81_064_793_915_035_648)
        );
        assert_eq!(guild_of("CHANNEL_CREATE", &json!({"id": id})), None);
        assert_eq!(
            guild_of("MESSAGE_CREATE", &json!({"channel_id": "1"})),
            None
        );
    }
}
