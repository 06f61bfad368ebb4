//! Ingestion (归集): from the files and API calls that source units send to accepted records.
//!
//! - [`source`]: readers for CSV (UTF-8 or GB18030, detected), XLSX and JSON, streaming where the
//!   format allows, keeping the bytes as received (digest and sealed chunks);
//! - [`mapping`]: headers in national field codes, their Chinese names, or the older code set;
//! - [`validate`]: each row against the catalog, every problem with its field and a reason in
//!   Chinese; publicity windows and timeliness computed by the rule book;
//! - [`import`]: the pipeline (reader thread → store writer), atomic per submission;
//! - [`rejects`]: rejected rows back in the source unit's own layout, as XLSX.

pub mod import;
pub mod mapping;
pub mod rejects;
pub mod source;
pub mod validate;

pub use import::{Committing, ImportOptions, ImportSummary, Importer};
pub use source::Format;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("无法读取文件 {path}：{message}")]
    Read { path: String, message: String },
    #[error("文件格式无法识别：{0}")]
    Format(String),
    #[error("{0}")]
    Layout(String),
    #[error("报送单位“{unit}”无权报送“{class}”")]
    NotAllowed { unit: String, class: String },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("写出退回文件失败：{0}")]
    Xlsx(String),
    #[error("读取线程异常终止")]
    Reader,
    /// The caller's step before commit (its audit entry) failed: nothing was committed.
    #[error("整批未入库：{0}")]
    BeforeCommit(String),
}
