-- revision: 0010_headlines
-- The schema storage/migrations make on SQLite, for new databases (storage/schema.py). Regenerate with
-- python -c 'import storage.schema as s; s.write_sqlite_schema()' after adding a migration.
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)
;
CREATE TABLE clusters (
	id INTEGER NOT NULL, 
	canonical_id INTEGER, 
	canonical_reason TEXT NOT NULL, 
	size INTEGER NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, core BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (id)
)
;
CREATE TABLE failures (
	id INTEGER NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	reason VARCHAR(64) NOT NULL, 
	message TEXT NOT NULL, 
	attempts INTEGER NOT NULL, 
	first_seen DATETIME NOT NULL, 
	last_seen DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (url)
)
;
CREATE TABLE documents (
	id INTEGER NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	final_url VARCHAR(2048), 
	host VARCHAR(255), 
	title TEXT, 
	author TEXT, 
	sitename TEXT, 
	language VARCHAR(32), 
	text TEXT NOT NULL, 
	published DATETIME, 
	published_source VARCHAR(16), 
	canonical_url VARCHAR(2048), 
	fetched DATETIME NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	fp_params VARCHAR(128) NOT NULL, 
	signature BLOB NOT NULL, 
	index_keys TEXT NOT NULL, 
	cluster_id INTEGER, 
	clustered BOOLEAN NOT NULL, attributions TEXT, chrome TEXT, lead TEXT, boilerplate TEXT, links TEXT, headlines TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(cluster_id) REFERENCES clusters (id) ON DELETE SET NULL, 
	UNIQUE (url)
)
;
CREATE INDEX ix_documents_cluster_id ON documents (cluster_id)
;
CREATE INDEX ix_documents_clustered ON documents (clustered)
;
CREATE INDEX ix_documents_content_hash ON documents (content_hash)
;
CREATE INDEX ix_documents_host ON documents (host)
;
CREATE TABLE host_paragraphs (
	host VARCHAR(255) NOT NULL, 
	paragraph_hash BIGINT NOT NULL, 
	document_id INTEGER NOT NULL, 
	PRIMARY KEY (host, paragraph_hash, document_id), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
)
;
CREATE INDEX ix_host_paragraphs_document ON host_paragraphs (document_id)
;
CREATE TABLE matches (
	low_id INTEGER NOT NULL, 
	high_id INTEGER NOT NULL, 
	jaccard FLOAT NOT NULL, 
	containment FLOAT NOT NULL, relation VARCHAR(16) DEFAULT 'duplicate' NOT NULL, score FLOAT DEFAULT '0' NOT NULL, opening SMALLINT DEFAULT '0' NOT NULL, whole BOOLEAN DEFAULT 0 NOT NULL, 
	PRIMARY KEY (low_id, high_id), 
	FOREIGN KEY(high_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(low_id) REFERENCES documents (id) ON DELETE CASCADE
)
;
CREATE INDEX ix_matches_high_id ON matches (high_id)
;
CREATE TABLE sources (
	id INTEGER NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	every_seconds INTEGER NOT NULL, 
	created DATETIME NOT NULL, 
	discovered DATETIME, 
	next_poll DATETIME NOT NULL, 
	last_poll DATETIME, 
	documents_found INTEGER NOT NULL, 
	polls INTEGER NOT NULL, 
	errors INTEGER NOT NULL, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (url)
)
;
CREATE INDEX ix_sources_next_poll ON sources (next_poll)
;
CREATE TABLE source_feeds (
	id INTEGER NOT NULL, 
	source_id INTEGER NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	etag VARCHAR(512), 
	last_modified VARCHAR(128), 
	last_status INTEGER, 
	last_fetched DATETIME, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(source_id) REFERENCES sources (id) ON DELETE CASCADE
)
;
CREATE INDEX ix_source_feeds_source_id ON source_feeds (source_id)
;
CREATE UNIQUE INDEX ix_source_feeds_source_url ON source_feeds (source_id, url)
;
CREATE TABLE source_entries (
	url VARCHAR(2048) NOT NULL, 
	source_id INTEGER, 
	queued DATETIME NOT NULL, 
	PRIMARY KEY (url), 
	FOREIGN KEY(source_id) REFERENCES sources (id) ON DELETE SET NULL
)
;
CREATE INDEX ix_source_entries_source_id ON source_entries (source_id)
;
CREATE TABLE template_sentences (
	template BIGINT NOT NULL, 
	document_id INTEGER NOT NULL, 
	PRIMARY KEY (template, document_id), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
)
;
CREATE INDEX ix_template_sentences_document ON template_sentences (document_id)
;
CREATE TABLE network_sentences (
	template BIGINT NOT NULL, 
	PRIMARY KEY (template)
)
;
INSERT INTO alembic_version (version_num) VALUES ('0010_headlines')
;
