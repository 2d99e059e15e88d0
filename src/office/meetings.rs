//! Meeting rooms and bookings: a booking that overlaps another in the same room is refused
//! (back-to-back is fine); participants see the meeting on their 工作台; minutes are an
//! attachment.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{line, short, uploads, user_by_name, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Room {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub capacity: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewMeeting {
    pub room_id: i64,
    pub title: String,
    /// Beijing time `YYYY-MM-DD HH:MM`.
    pub starts: String,
    pub ends: String,
    #[serde(default)]
    pub participants: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub room: String,
    pub title: String,
    /// Beijing time, as shown.
    pub starts: String,
    pub ends: String,
    pub organizer: String,
    pub participants: Vec<String>,
    pub minutes: Option<super::documents::Attachment>,
}

pub fn add_room(
    tx: &mut WriteTx,
    name: &str,
    location: &str,
    capacity: i64,
) -> Result<Room, OfficeError> {
    let name = line("name", name, 40, true)?;
    let location = line("location", location, 100, false)?;
    if !(1..=10_000).contains(&capacity) {
        return Err(OfficeError::invalid(
            "capacity",
            "容纳人数应在 1 到 10000 之间",
        ));
    }
    let exists: bool = tx.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM rooms WHERE name = ?1)",
        [&name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(OfficeError::Conflict(format!("已有名为 {name} 的会议室")));
    }
    let id = tx.insert(
        "INSERT INTO rooms(name, location, capacity) VALUES (?1, ?2, ?3)",
        params![name, location, capacity],
    )?;
    super::change(
        tx,
        "room",
        id,
        Op::Insert,
        &serde_json::json!({"name": name, "location": location, "capacity": capacity}),
    )?;
    Ok(Room {
        id,
        name,
        location,
        capacity,
    })
}

pub fn rooms(conn: &Connection) -> Result<Vec<Room>, OfficeError> {
    Ok(conn
        .prepare_cached("SELECT id, name, location, capacity FROM rooms ORDER BY name")?
        .query_map([], |r| {
            Ok(Room {
                id: r.get(0)?,
                name: r.get(1)?,
                location: r.get(2)?,
                capacity: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// A Beijing wall-clock time `YYYY-MM-DD HH:MM` (or with `T`) as stored UTC.
pub fn parse_local(field: &'static str, v: &str) -> Result<String, OfficeError> {
    let dt = v
        .trim()
        .replace(' ', "T")
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| {
            OfficeError::invalid(
                field,
                format!(
                    "时间 \"{}\" 无效，应为 YYYY-MM-DD HH:MM（北京时间）",
                    short(v)
                ),
            )
        })?;
    let ts = dt
        .to_zoned(crate::clock::shanghai())
        .map_err(|_| OfficeError::invalid(field, "时间超出范围"))?
        .timestamp();
    Ok(crate::clock::format_utc(ts))
}

pub fn book(tx: &mut WriteTx, user: &User, m: &NewMeeting) -> Result<Meeting, OfficeError> {
    let title = line("title", &m.title, 100, true)?;
    let starts = parse_local("starts", &m.starts)?;
    let ends = parse_local("ends", &m.ends)?;
    if starts >= ends {
        return Err(OfficeError::invalid("ends", "结束时间应晚于开始时间"));
    }
    let (s, e) = (
        crate::clock::parse_utc(&starts),
        crate::clock::parse_utc(&ends),
    );
    if let (Some(s), Some(e)) = (s, e) {
        if e.duration_since(s).as_secs() > 24 * 3600 {
            return Err(OfficeError::invalid("ends", "一次预订不能超过 24 小时"));
        }
    }
    if m.participants.len() > 500 {
        return Err(OfficeError::invalid(
            "participants",
            "参会人不能超过 500 人",
        ));
    }
    let room: String = tx
        .conn()
        .query_row("SELECT name FROM rooms WHERE id = ?1", [m.room_id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| OfficeError::invalid("room_id", format!("没有会议室 {}", m.room_id)))?;
    // Half-open intervals: [starts, ends). One ending at 10:00 and one starting at 10:00 do not clash.
    let clash: Option<(String, String, String)> = tx
        .conn()
        .query_row(
            "SELECT title, starts_at, ends_at FROM meetings WHERE room_id = ?1 AND starts_at < ?3 AND ?2 < ends_at LIMIT 1",
            params![m.room_id, starts, ends],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((t, a, b)) = clash {
        return Err(OfficeError::RoomBusy(format!(
            "{room} {}–{} 已有会议「{t}」",
            crate::clock::show(&a),
            crate::clock::show(&b)
        )));
    }
    let mut people = vec![user.id];
    for p in &m.participants {
        let id = user_by_name(tx.conn(), "participants", p)?;
        if !people.contains(&id) {
            people.push(id);
        }
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO meetings(room_id, title, starts_at, ends_at, organizer_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![m.room_id, title, starts, ends, user.id, now],
    )?;
    for p in &people {
        tx.exec(
            "INSERT INTO meeting_participants(meeting_id, user_id) VALUES (?1, ?2)",
            params![id, p],
        )?;
    }
    super::change(
        tx,
        "meeting",
        id,
        Op::Insert,
        &serde_json::json!({"room_id": m.room_id, "title": title, "starts_at": starts, "ends_at": ends, "organizer_id": user.id, "participants": people}),
    )?;
    get(tx.conn(), id)
}

/// Attaches the minutes (纪要); only the organiser may.
pub fn set_minutes(
    tx: &mut WriteTx,
    user: &User,
    meeting_id: i64,
    upload_id: i64,
) -> Result<Meeting, OfficeError> {
    let organizer: i64 = tx
        .conn()
        .query_row(
            "SELECT organizer_id FROM meetings WHERE id = ?1",
            [meeting_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("会议 {meeting_id}")))?;
    if organizer != user.id {
        return Err(OfficeError::Forbidden("只有会议组织者可以上传纪要".into()));
    }
    let up = uploads::own(tx.conn(), user.id, upload_id)?;
    tx.exec(
        "UPDATE meetings SET minutes_hash = ?2, minutes_name = ?3 WHERE id = ?1",
        params![meeting_id, up.hash, up.name],
    )?;
    tx.change_with_blobs(
        "meeting_minutes",
        meeting_id,
        Op::Update,
        &serde_json::json!({"name": up.name}),
        &[up.hash.as_str()],
    )?;
    get(tx.conn(), meeting_id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Meeting, OfficeError> {
    let mut m = conn
        .query_row(
            "SELECT m.id, r.name, m.title, m.starts_at, m.ends_at, u.display_name, m.minutes_hash, m.minutes_name
             FROM meetings m JOIN rooms r ON r.id = m.room_id JOIN users u ON u.id = m.organizer_id WHERE m.id = ?1",
            [id],
            |r| {
                let hash: Option<String> = r.get(6)?;
                let name: Option<String> = r.get(7)?;
                Ok(Meeting {
                    id: r.get(0)?,
                    room: r.get(1)?,
                    title: r.get(2)?,
                    starts: crate::clock::show(&r.get::<_, String>(3)?),
                    ends: crate::clock::show(&r.get::<_, String>(4)?),
                    organizer: r.get(5)?,
                    participants: Vec::new(),
                    minutes: hash.zip(name).map(|(hash, name)| super::documents::Attachment { hash, name, size: 0 }),
                })
            },
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("会议 {id}")))?;
    m.participants = conn
        .prepare_cached("SELECT u.display_name FROM meeting_participants p JOIN users u ON u.id = p.user_id WHERE p.meeting_id = ?1 ORDER BY u.id")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(m)
}

/// Meetings the user takes part in that end after `from` (UTC), soonest first.
pub fn upcoming(
    conn: &Connection,
    user_id: i64,
    from: &str,
    until: Option<&str>,
) -> Result<Vec<Meeting>, OfficeError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT m.id FROM meetings m JOIN meeting_participants p ON p.meeting_id = m.id
             WHERE p.user_id = ?1 AND m.ends_at > ?2 AND (?3 IS NULL OR m.starts_at < ?3) ORDER BY m.starts_at LIMIT 200",
        )?
        .query_map(params![user_id, from, until], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

/// The room's bookings, for the booking page.
pub fn room_schedule(conn: &Connection, from: &str) -> Result<Vec<Meeting>, OfficeError> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM meetings WHERE ends_at > ?1 ORDER BY starts_at LIMIT 200")?
        .query_map([from], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

/// Meetings the user was invited to (by someone else) and has not yet looked at: the in-app
/// notification, shown on the 工作台 until they open the meetings page.
pub fn unseen(conn: &Connection, user_id: i64, from: &str) -> Result<Vec<Meeting>, OfficeError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT m.id FROM meetings m JOIN meeting_participants p ON p.meeting_id = m.id
             WHERE p.user_id = ?1 AND p.seen_at IS NULL AND m.organizer_id <> ?1 AND m.ends_at > ?2
             ORDER BY m.starts_at LIMIT 50",
        )?
        .query_map(params![user_id, from], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

/// Marks every invitation of the user as seen; true when there was one.
pub fn mark_seen(tx: &mut WriteTx, user_id: i64) -> Result<bool, OfficeError> {
    let pending: i64 = tx.conn().query_row(
        "SELECT count(*) FROM meeting_participants WHERE user_id = ?1 AND seen_at IS NULL",
        [user_id],
        |r| r.get(0),
    )?;
    if pending == 0 {
        return Ok(false);
    }
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE meeting_participants SET seen_at = ?2 WHERE user_id = ?1 AND seen_at IS NULL",
        params![user_id, now],
    )?;
    super::change(
        tx,
        "meeting_seen",
        user_id,
        Op::Update,
        &serde_json::json!({"seen_at": now}),
    )?;
    Ok(true)
}
