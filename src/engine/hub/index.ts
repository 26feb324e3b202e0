// Hugging Face Hub files in the browser: URLs, streaming downloads with resume, an IndexedDB
// cache, a FileSource for loadCheckpoint, and a pre-download size check. (testing.ts is Node-only
// and deliberately not exported here.)
export { HubError, describeHubUrl, type HubErrorCode, type ResumeState } from './errors.ts';
export { HF_ENDPOINT, downloadFile, headFile, fetchRange, RateMeter, type DownloadOptions, type DownloadProgress, type DownloadResult, type FetchOptions } from './download.ts';
export { HubCache, cacheKey, sha256Hex, HUB_CACHE_SCHEMA, DEFAULT_CHUNK_BYTES, type CacheMeta, type CachedFile, type CacheListing } from './cache.ts';
export { IdbBlobStore, MemoryBlobStore, defaultBlobStore, HUB_DB_NAME, HUB_DB_SCHEMA, type BlobStore } from './store.ts';
export { hubFileUrl, hubSource, type HubSource, type HubSourceOptions, type RepoType } from './hub.ts';
export { planDownload, formatBytes, type DownloadPlan, type PlanLimits, type PlanOptions, type PlannedTensor } from './plan.ts';
