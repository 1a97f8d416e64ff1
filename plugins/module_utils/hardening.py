# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Hardening (pure): a lint of the merged Compose project and an audit of its running containers.

The lint reads ``docker compose config --format json`` and names what is wrong before anything is deployed:
obsolete or unknown n8n variables, unpinned images, encryption keys that differ between main and workers, secrets
in plain environment next to secret files. The audit scores ``docker inspect`` of the project's containers and a
few host and engine facts against CIS Docker Benchmark v1.6.0 section 5 (its numbering: the one docker-bench-security
1.6.1 reports) and our own controls (N8N-*), with waivers.

No I/O here: the hardening role and the stack_audit module gather the input. No secret value is ever put in a
finding, a result or the table: only variable names and places.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import posixpath
import re

from ansible_collections.n8n_ops.stack.plugins.module_utils.stack_config import image_ref_error

ERROR, WARNING = 'error', 'warning'
# na: does not apply here (AppArmor on a host without it); manual: cannot be decided from the running state, a person
# checks it (the detail says what). Neither counts in the score.
PASS, FAIL, NA, WAIVED, MANUAL = 'pass', 'fail', 'na', 'waived', 'manual'

# ---------------------------------------------------------------------------------------------------------------
# Config lint: n8n's variables
# ---------------------------------------------------------------------------------------------------------------

# Variables n8n no longer reads (or never read): name -> (n8n version from which this holds, what to use instead).
# An image tag older than that version is not flagged. Sources:
# - n8n v1.0 migration guide (docs.n8n.io/release-notes/v10-migration-guide, n8n-io/n8n-docs
#   docs/release-notes/v10-migration-guide.md): EXECUTIONS_PROCESS and own mode (PR #6196), BasicAuth and external
#   JWT removed with the mandatory owner account (PR #6362), WEBHOOK_TUNNEL_URL, N8N_USE_DEPRECATED_REQUEST_LIB.
# - n8n v2.0 breaking changes (n8n-io/n8n-docs docs/changelog/v20-breaking-changes.md): QUEUE_WORKER_MAX_STALLED_COUNT,
#   N8N_CONFIG_FILES, N8N_AVAILABLE_BINARY_DATA_MODES; task runners always on (N8N_RUNNERS_ENABLED: n8n-io/n8n
#   PR #23885, "Remove this environment variable; it is no longer needed" since 2.0).
# - n8n-io/n8n packages/cli/src/deprecation/deprecation.service.ts as shipped in n8n 2.41.1 ("no longer needed").
# - N8N_SKIP_WEBHOOK_DEREGISTRATION_SHUTDOWN: n8n-io/n8n PR #7515/#7543, released in 1.15.1.
# - EXECUTIONS_CONCURRENCY was proposed in n8n-io/n8n PR #8458 (closed, never released); the concurrency limit that
#   shipped is N8N_CONCURRENCY_PRODUCTION_LIMIT (PR #9453). QUEUE_WORKER_CONCURRENCY: see worker_scaling.FICTIONAL_ENV.
_CONCURRENCY = 'N8N_CONCURRENCY_PRODUCTION_LIMIT (regular mode) or the worker command\'s --concurrency=N (queue mode)'
_NOTHING = 'nothing: remove it'
OBSOLETE_N8N_VARS = {
    'EXECUTIONS_PROCESS': ((1, 0), 'nothing: executions run in the main process, or use queue mode'),
    'N8N_USER_MANAGEMENT_DISABLED': ((1, 0), 'nothing: the owner account is mandatory since n8n 1.0'),
    'WEBHOOK_TUNNEL_URL': ((1, 0), 'WEBHOOK_URL'),
    'N8N_USE_DEPRECATED_REQUEST_LIB': ((1, 0), _NOTHING),
    'N8N_SKIP_WEBHOOK_DEREGISTRATION_SHUTDOWN': ((1, 15), 'nothing: n8n no longer deregisters webhooks at shutdown'),
    'QUEUE_WORKER_MAX_STALLED_COUNT': ((2, 0), 'nothing: n8n 2 no longer retries stalled jobs'),
    'N8N_CONFIG_FILES': ((2, 0), 'environment variables or *_FILE variables'),
    'N8N_AVAILABLE_BINARY_DATA_MODES': ((2, 0), 'N8N_DEFAULT_BINARY_DATA_MODE'),
    'N8N_RUNNERS_ENABLED': ((2, 0), 'nothing: task runners are always on in n8n 2'),
    'N8N_BINARY_DATA_TTL': ((2, 0), _NOTHING),
    'N8N_PERSISTED_BINARY_DATA_TTL': ((2, 0), _NOTHING),
    'EXECUTIONS_DATA_PRUNE_TIMEOUT': ((2, 0), 'EXECUTIONS_DATA_PRUNE_SOFT_DELETE_INTERVAL'),
    'N8N_EXPRESSION_EVALUATOR': ((2, 0), 'nothing: tournament is the only expression evaluator'),
    'N8N_EXPRESSION_REPORT_DIFFERENCE': ((2, 0), 'nothing: tournament is the only expression evaluator'),
    'EXECUTIONS_CONCURRENCY': ((0, 0), _CONCURRENCY),
    'QUEUE_WORKER_CONCURRENCY': ((0, 0), _CONCURRENCY),
}
# Whole families removed with BasicAuth and external JWT auth in n8n 1.0 (PR #6362).
OBSOLETE_N8N_PREFIXES = {
    'N8N_BASIC_AUTH_': ((1, 0), 'the owner account (user management)'),
    'N8N_JWT_': ((1, 0), 'the owner account, or SSO (SAML, OIDC, LDAP)'),
    'N8N_JWKS_': ((1, 0), 'the owner account, or SSO (SAML, OIDC, LDAP)'),
}
# Still read, but n8n warns at start and names the replacement (deprecation.service.ts of n8n 2.41.1; WEBHOOK_URL ->
# N8N_WEBHOOK_URL is n8n-io/n8n PR #33312). Versions: the first release this collection verified them in.
DEPRECATED_N8N_VARS = {
    'WEBHOOK_URL': ((2, 41), 'N8N_WEBHOOK_URL (the base URL of both test and production webhooks)'),
    'N8N_DB_PING_TIMEOUT': ((2, 41), 'DB_PING_TIMEOUT_MS'),
    'N8N_BINARY_DATA_STORAGE_PATH': ((2, 41), 'N8N_STORAGE_PATH'),
    'N8N_PATH': ((2, 41), 'N8N_BASE_PATH'),
}
# Names linted on n8n services; others (NODE_*, GENERIC_TIMEZONE, DB_TYPE, TZ) are left alone.
N8N_VAR_PREFIXES = ('N8N_', 'EXECUTIONS_', 'QUEUE_', 'DB_POSTGRESDB_', 'WEBHOOK_')

# Every variable with those prefixes that n8n 2.41.1 reads (its @Env declarations in @n8n/config and the modules'
# configs, plus direct process.env reads), minus the obsolete and deprecated ones above; this covers the variables of
# docs.n8n.io's environment variable reference and everything this collection sets (roles/*/templates, defaults).
# Every X_FILE of a known X is known too (n8n reads X from the file X_FILE names). Grouped by prefix.
_KNOWN_BY_PREFIX = {
    'DB_POSTGRESDB_': 'CONNECTION_TIMEOUT DATABASE DESTROY_TIMEOUT_MS HOST IDLE_CONNECTION_TIMEOUT KEEP_ALIVE '
                      'KEEP_ALIVE_INITIAL_DELAY_MS MAX_CONNECTION_LIFETIME_MS PASSWORD POOL_SIZE PORT SCHEMA SSL_CA '
                      'SSL_CERT SSL_ENABLED SSL_KEY SSL_REJECT_UNAUTHORIZED STATEMENT_TIMEOUT USER',
    'EXECUTIONS_': 'MODE TIMEOUT TIMEOUT_MAX',
    'EXECUTIONS_DATA_': 'HARD_DELETE_BUFFER MAX_AGE MAX_DISPLAY_SIZE PRUNE PRUNE_HARD_DELETE_INTERVAL '
                        'PRUNE_MAX_COUNT PRUNE_SOFT_DELETE_INTERVAL SAVE_MANUAL_EXECUTIONS SAVE_ON_ERROR '
                        'SAVE_ON_PROGRESS SAVE_ON_SUCCESS',
    'N8N_': 'ACTIVITY_LOG_MAX_ENTRIES ACTIVITY_LOG_RETENTION_DAYS ADDITIONAL_NON_UI_ROUTES '
            'AWS_SYSTEM_CREDENTIALS_ACCESS_ENABLED AWS_SYSTEM_CREDENTIALS_SDK_SOURCES '
            'AZURE_STORAGE_CUSTOM_ENDPOINTS_ENABLED BINARY_DATA_DATABASE_MAX_FILE_SIZE BINARY_DATA_SIGNING_SECRET '
            'CANVAS_ONLY CANVAS_ONLY_PERSONAL_SPACE_SCOPE_DENY_LIST COLLABORATION_CRDT '
            'COMPRESSION_NODE_MAX_DECOMPRESSED_SIZE_BYTES COMPRESSION_NODE_MAX_ZIP_ENTRIES '
            'CONCURRENCY_EVALUATION_LIMIT CONCURRENCY_PRODUCTION_LIMIT CONFIG_EVALS_ENABLED CONTENT_SECURITY_POLICY '
            'CONTENT_SECURITY_POLICY_REPORT_ONLY CROSS_ORIGIN_OPENER_POLICY DEFAULT_BINARY_DATA_MODE DEFAULT_LOCALE '
            'DEPLOYMENT_TYPE DEV_RELOAD DISABLED_MODULES EDITOR_BASE_URL EMAIL_MODE EMBED_LOGIN_ENABLED '
            'ENABLED_MODULES ENCRYPTION_KEY ENFORCE_GLOBAL_USER_AGENT ENFORCE_SETTINGS_FILE_PERMISSIONS '
            'EVAL_AUTO_BROWSER_CONNECT EVAL_COLLECTIONS_ENABLED EXECUTION_DATA_STORAGE_MODE FEATURE_FLAG_OVERRIDES '
            'FORMDATA_FILE_SIZE_MAX FRONTEND_SENTRY_DSN GLOBAL_USER_AGENT_VALUE GRACEFUL_SHUTDOWN_TIMEOUT '
            'HIDE_USAGE_PAGE HIRING_BANNER_ENABLED HMAC_SIGNATURE_SECRET HOST HTTP_RESPONSE_BODY_READ_TIMEOUT '
            'INSECURE_DISABLE_FORM_HTML_SANDBOX INSECURE_DISABLE_WEBHOOK_IFRAME_SANDBOX INVITE_LINKS_EMAIL_ONLY '
            'LISTEN_ADDRESS MANAGED_OAUTH_SHOW_SCOPES METRICS MFA_ENABLED MFA_ENFORCED_ENABLED '
            'MIGRATE_FS_STORAGE_PATH OUTBOUND_PROXY_MODE PASSWORD_MIN_LENGTH PAYLOAD_SIZE_MAX '
            'PERSONALIZATION_ENABLED PERSONAL_SPACE_PUBLISHING_ENABLED PERSONAL_SPACE_SHARING_ENABLED '
            'POLLER_DURABLE_CURSORS_ENABLED PORT POSTMESSAGE_ALLOWED_ORIGINS PREVIEW_MODE '
            'PRE_EXECUTE_ERROR_CREATES_EXECUTION PROTOCOL PROXY_HOPS PUSH_BACKEND PYTHON_ENABLED '
            'QUICK_CONNECT_OPTIONS REDIS_KEY_PREFIX REINSTALL_MISSING_PACKAGES RELEASE_TYPE RESTRICT_FILE_ACCESS_TO '
            'SAMESITE_COOKIE SANDBOX_SERVICE_API_KEY SANDBOX_SERVICE_URL SECURE_COOKIE '
            'SOURCECONTROL_DEFAULT_SSH_KEY_TYPE SSH_TUNNEL_IDLE_TIMEOUT SSL_CERT SSL_KEY STORAGE_PATH '
            'TEMPLATES_ENABLED TEMPLATES_HOST UNVERIFIED_PACKAGES_ENABLED USE_WORKFLOW_PUBLICATION_SERVICE '
            'VECTOR_STORE_MAX_MEMORY VECTOR_STORE_TTL_HOURS VERIFIED_PACKAGES_ENABLED VERSION '
            'WORKFLOWS_AUTOSAVE_DISABLED',
    'N8N_AGENTS_': 'AI_SANDBOX_ENABLED AI_SANDBOX_EPHEMERAL AI_SANDBOX_IMAGE AI_SANDBOX_SNAPSHOT AI_SANDBOX_TIMEOUT '
                   'BACKGROUND_TASKS_ENABLED CHANNEL_RECONCILE_INTERVAL CHECKPOINT_TTL MODULES TRACING_ENABLED '
                   'TRACING_RECORD_INPUTS TRACING_RECORD_OUTPUTS',
    'N8N_AGENT_': 'EVALS_ENABLED EVALS_RUN_TIMEOUT_MINUTES INTEGRATION_RECORDING_DIR INTEGRATION_RECORDING_ENABLED '
                  'INTEGRATION_RECORDING_REF INTEGRATION_RECORDING_SESSION_ID',
    'N8N_AI_': 'AGENT_MAX_PASSTHROUGH_BINARY_SIZE_BYTES ALLOW_SENDING_PARAMETER_VALUES ANTHROPIC_KEY '
               'ASSISTANT_BASE_URL ENABLED GATEWAY_ENABLED MODEL_STREAM_FIRST_OUTPUT_TIMEOUT_MS '
               'MODEL_STREAM_IDLE_TIMEOUT_MS TIMEOUT_MAX',
    'N8N_BLOCK_': 'ENV_ACCESS_IN_NODE FILE_ACCESS_TO_N8N_FILES FILE_PATTERNS RUNNER_ENV_ACCESS',
    'N8N_CACHE_': 'BACKEND MEMORY_MAX_SIZE MEMORY_TTL REDIS_KEY_PREFIX REDIS_TTL',
    'N8N_CHAT_': 'HUB_EXECUTION_CONTEXT_TTL HUB_MAX_BUFFERED_CHUNKS HUB_STREAM_STATE_TTL',
    'N8N_COMMUNITY_': 'PACKAGES PACKAGES_AUTH_TOKEN PACKAGES_ENABLED PACKAGES_MANAGED_BY_ENV '
                      'PACKAGES_PREVENT_LOADING PACKAGES_REGISTRY',
    'N8N_DATA_': 'TABLES_CLEANUP_INTERVAL_MS TABLES_FILE_MAX_AGE_MS TABLES_MAX_SIZE_BYTES '
                 'TABLES_SIZE_CHECK_CACHE_DURATION_MS TABLES_UPLOAD_MAX_FILE_SIZE_BYTES '
                 'TABLES_WARNING_THRESHOLD_BYTES',
    'N8N_DIAGNOSTICS_': 'CONFIG_BACKEND CONFIG_FRONTEND ENABLED POSTHOG_API_HOST POSTHOG_API_KEY',
    'N8N_DISABLE_': 'PRODUCTION_MAIN_PROCESS PUBLIC_CHAT_TRIGGER UI',
    'N8N_DYNAMIC_': 'BANNERS_ENABLED BANNERS_ENDPOINT CREDENTIALS_AUTHORIZE_RATE_LIMIT_PER_MINUTE '
                    'CREDENTIALS_CORS_ALLOW_CREDENTIALS CREDENTIALS_CORS_ORIGIN CREDENTIALS_ENDPOINT_AUTH_TOKEN '
                    'CREDENTIALS_RATE_LIMIT_PER_MINUTE',
    'N8N_ENDPOINT_': 'FORM FORM_TEST FORM_WAIT HEALTH MCP MCP_TEST REST WEBHOOK WEBHOOK_TEST WEBHOOK_WAIT',
    'N8N_ENGINE_': 'AUTH_SECRET BASE_URL CONTROL_PLANE_BASE_URL CONTROL_PLANE_HOST CONTROL_PLANE_PORT DATABASE_URL '
                   'HOST PORT',
    'N8N_ENV_': 'FEAT_DYNAMIC_CREDENTIALS FEAT_ENCRYPTION_KEY_ROTATION FEAT_EXTERNAL_SECRETS_FOR_PROJECTS '
                'FEAT_EXTERNAL_SECRETS_MULTIPLE_CONNECTIONS FEAT_EXTERNAL_SECRETS_ROLE_BASED_ACCESS FEAT_OAUTH2_JWE '
                'FEAT_RUNTIME_CREDENTIALS FEAT_SIGNED_SAML_REQUESTS FEAT_SKIP_DURABLE_SCHEDULER FEAT_TOKEN_EXCHANGE',
    'N8N_EVENTBUS_': 'CHECKUNSENTINTERVAL LOGWRITER_KEEPLOGCOUNT LOGWRITER_LOGBASENAME LOGWRITER_LOGFULLPATH '
                     'LOGWRITER_MAXFILESIZEINKB LOGWRITER_MAXMESSAGESPERPARSE LOGWRITER_MAXTOTALMESSAGESPERFILE '
                     'RECOVERY_MODE',
    'N8N_EXECUTIONS_': 'QUEUE_KEEP_LAST_COMPLETED QUEUE_KEEP_LAST_FAILED QUEUE_RECOVERY_BATCH '
                       'QUEUE_RECOVERY_INTERVAL',
    'N8N_EXPRESSION_': 'ENGINE ENGINE_ALLOW_WEBHOOK_ISOLATE_SKIP ENGINE_COMPILE_CACHE ENGINE_FRONTEND '
                       'ENGINE_IDLE_TIMEOUT ENGINE_LAZY_ACQUIRE ENGINE_MAX_CODE_CACHE_SIZE ENGINE_MEMORY_LIMIT '
                       'ENGINE_OBSERVABILITY_ENABLED ENGINE_POOL_SIZE ENGINE_SLOW_EVAL_THRESHOLD_MS ENGINE_TIMEOUT '
                       'ENGINE_TRACES_ENABLED ENGINE_TRACES_SAMPLE_RATE',
    'N8N_EXTERNAL_': 'SECRETS_CONNECT_TIMEOUT SECRETS_PREFER_GET SECRETS_REFRESH_TIMEOUT SECRETS_UPDATE_INTERVAL '
                     'STORAGE_AZURE_ACCOUNT_KEY STORAGE_AZURE_ACCOUNT_NAME STORAGE_AZURE_AUTH_AUTO_DETECT '
                     'STORAGE_AZURE_CONNECTION_STRING STORAGE_AZURE_CONTAINER_NAME STORAGE_AZURE_ENDPOINT '
                     'STORAGE_S3_ACCESS_KEY STORAGE_S3_ACCESS_SECRET STORAGE_S3_AUTH_AUTO_DETECT '
                     'STORAGE_S3_BUCKET_NAME STORAGE_S3_BUCKET_REGION STORAGE_S3_FORCE_PATH_STYLE STORAGE_S3_HOST '
                     'STORAGE_S3_MAX_ATTEMPTS STORAGE_S3_PROTOCOL STORAGE_S3_STARTUP_TIMEOUT_MS',
    'N8N_GIT_': 'NODE_DISABLE_BARE_REPOS NODE_ENABLE_ALL_CONFIG_KEYS NODE_ENABLE_HOOKS',
    'N8N_IMPORT_': 'MAX_ENTRIES MAX_ENTRY_BYTES MAX_PATH_LENGTH MAX_UNCOMPRESSED_BYTES',
    'N8N_INSIGHTS_': 'COMPACTION_BATCH_DELAY_MILLISECONDS COMPACTION_BATCH_SIZE '
                     'COMPACTION_DAILY_TO_WEEKLY_THRESHOLD_DAYS COMPACTION_HOURLY_TO_DAILY_THRESHOLD_DAYS '
                     'COMPACTION_INTERVAL_MINUTES COMPACTION_MAX_BATCHES_PER_RUN COMPACTION_MAX_RUNTIME_SECONDS '
                     'FLUSH_BATCH_SIZE FLUSH_INTERVAL_SECONDS MAX_AGE_DAYS PRUNE_CHECK_INTERVAL_HOURS',
    'N8N_INSTANCE_': 'AI_ACTIVATION_CAPPED AI_ACTIVATION_LOCK_MESSAGE_THRESHOLD AI_BROWSER_USE_ENABLED '
                     'AI_BUILDER_SANDBOX_TTL_MS AI_CHECKPOINT_GC_RETENTION AI_CONFIRMATION_TIMEOUT '
                     'AI_DAYTONA_TOKEN_REFRESH_SKEW_MS AI_EVAL_MODEL AI_EVAL_TIMING AI_FOLDER_EXPLORATION_ENABLED '
                     'AI_GATEWAY_API_KEY AI_LOCAL_GATEWAY_DISABLED AI_MAX_CONCURRENT_RUNS '
                     'AI_MAX_CONCURRENT_RUNS_PER_USER AI_MAX_CONCURRENT_SUB_AGENTS AI_MCP_CONNECTIONS_ENABLED '
                     'AI_MCP_SERVERS AI_MID_RUN_OBSERVATION AI_MODEL AI_MODEL_API_KEY AI_MODEL_URL '
                     'AI_NODE_CONTEXT_ENABLED AI_NODE_USAGE_ENABLED AI_OBSERVER_MESSAGE_TOKENS AI_PRUNE_INTERVAL '
                     'AI_REASONING_EFFORT AI_REFLECTOR_OBSERVATION_TOKENS AI_RUN_DEBUG_ENABLED '
                     'AI_SANDBOX_AUTO_ARCHIVE_MINUTES AI_SANDBOX_AUTO_DELETE_MINUTES AI_SANDBOX_AUTO_STOP_MINUTES '
                     'AI_SANDBOX_ENABLED AI_SANDBOX_EPHEMERAL AI_SANDBOX_IMAGE AI_SANDBOX_LINK_SDK '
                     'AI_SANDBOX_NAME_PREFIX AI_SANDBOX_PROVIDER AI_SANDBOX_SNAPSHOT AI_SANDBOX_TIMEOUT '
                     'AI_SEARXNG_URL AI_SETUP_PANEL_ENABLED AI_SNAPSHOT_RETENTION AI_SUPPORTS_STRUCTURED_OUTPUTS '
                     'AI_TEMPLATES_DISABLED AI_TEMPLATES_REFRESH_HOURS AI_TEMPLATES_URL AI_THINKING_ENABLED '
                     'AI_THREAD_TTL_DAYS AI_TRACE_INCLUDE_INTERNAL AI_TRACE_INTERNAL AI_VERTEX_LOCATION '
                     'AI_VERTEX_PROJECT_ID AI_VERTEX_SERVICE_ACCOUNT_JSON ID OWNER_EMAIL OWNER_FIRST_NAME '
                     'OWNER_LAST_NAME OWNER_MANAGED_BY_ENV OWNER_PASSWORD_HASH REPORTING_AUTH_TOKEN '
                     'REPORTING_BASE_URL REPORTING_LABEL',
    'N8N_LICENSE_': 'ACTIVATION_KEY AUTO_RENEW_ENABLED CERT DETACH_FLOATING_ON_SHUTDOWN SERVER_URL TENANT_ID',
    'N8N_LOG_': 'CRON_ACTIVE_INTERVAL FILE_COUNT_MAX FILE_LOCATION FILE_SIZE_MAX FORMAT LEVEL OUTPUT SCOPES '
                'STREAMING_DESTINATIONS STREAMING_MANAGED_BY_ENV',
    'N8N_MCP_': 'ACCESS_ENABLED APPS_ENABLED BASE_URL BROWSER_ACTIONABLE_GRACE_MS BUILDER_ENABLED '
                'CLIENT_CACHE_MAX_SIZE CLIENT_CACHE_TTL_MS COMMUNITY_NODE_DISCOVERY_ENABLED MANAGED_BY_ENV '
                'MAX_REGISTERED_CLIENTS SERVERS_DEV_URL SERVER_RATE_LIMIT SERVER_SESSION_IDLE_TTL_MS '
                'SERVER_SESSION_SWEEP_INTERVAL_MS',
    'N8N_METRICS_': 'ACTIVE_WORKFLOW_METRIC_INTERVAL INCLUDE_API_ENDPOINTS INCLUDE_API_METHOD_LABEL '
                    'INCLUDE_API_PATH_LABEL INCLUDE_API_STATUS_CODE_LABEL INCLUDE_CACHE_METRICS '
                    'INCLUDE_CREDENTIAL_TYPE_LABEL INCLUDE_DB_POOL_METRICS INCLUDE_DEFAULT_METRICS '
                    'INCLUDE_DNS_CACHE_METRICS INCLUDE_ENCRYPTION_METRICS INCLUDE_EXECUTION_DATA_METRICS '
                    'INCLUDE_FORM_METRICS INCLUDE_MCP_POST_SAVE_METRICS INCLUDE_MESSAGE_EVENT_BUS_METRICS '
                    'INCLUDE_NODE_TYPE_LABEL INCLUDE_POLL_TRIGGER_METRICS INCLUDE_QUEUE_METRICS '
                    'INCLUDE_SCHEDULER_METRICS INCLUDE_SSRF_METRICS INCLUDE_SYSTEM_TASK_METRICS '
                    'INCLUDE_WEBHOOK_METRICS INCLUDE_WORKFLOW_EXECUTION_DURATION INCLUDE_WORKFLOW_ID_LABEL '
                    'INCLUDE_WORKFLOW_INFO INCLUDE_WORKFLOW_NAME_LABEL INCLUDE_WORKFLOW_PUBLICATION_METRICS '
                    'INCLUDE_WORKFLOW_STATISTICS PREFIX QUEUE_METRICS_INTERVAL SCHEDULER_INTERVAL '
                    'WORKFLOW_INFO_METRIC_INTERVAL WORKFLOW_PUBLICATION_METRIC_INTERVAL WORKFLOW_STATISTICS_INTERVAL',
    'N8N_MULTI_': 'MAIN_SETUP_CHECK_INTERVAL MAIN_SETUP_ENABLED MAIN_SETUP_KEY_TTL',
    'N8N_OAUTH_': 'BROWSER_BINDING JWE_JWKS_PER_MINUTE SERVER_AUTHORIZE_RATE_LIMIT SERVER_REGISTER_RATE_LIMIT '
                  'SERVER_REVOKE_RATE_LIMIT SERVER_TOKEN_RATE_LIMIT SERVER_WELL_KNOWN_RATE_LIMIT',
    'N8N_PUBLIC_': 'API_DISABLED API_ENDPOINT API_SWAGGERUI_DISABLED',
    'N8N_RUNNERS_': 'ALLOW_TRANSITIVE_IMPORTS AUTH_TOKEN AUTO_SHUTDOWN_TIMEOUT BROKER_LISTEN_ADDRESS BROKER_PORT '
                    'BUILTINS_DENY EXTERNAL_ALLOW GRACEFUL_SHUTDOWN_TIMEOUT GRANT_TOKEN GRANT_TOKEN_TTL '
                    'HEALTH_CHECK_SERVER_ENABLED HEALTH_CHECK_SERVER_HOST HEALTH_CHECK_SERVER_PORT '
                    'HEARTBEAT_INTERVAL ID INSECURE_MODE MAX_CONCURRENCY MAX_OLD_SPACE_SIZE MAX_PAYLOAD MODE PATH '
                    'SHUTDOWN_FORCE_KILL_MARGIN STDLIB_ALLOW TASK_ACCEPT_TIMEOUT TASK_BROKER_URI '
                    'TASK_REQUEST_TIMEOUT TASK_TIMEOUT',
    'N8N_SCHEDULER_': 'AGENT_TASKS_ENABLED CLAIM_BATCH_SIZE ENABLED EXECUTOR_INTERVAL EXECUTOR_TIMEOUT '
                      'FAILED_RETENTION JITTER_RATIO LEASE_DURATION MATERIALIZATION_INTERVAL MATERIALIZATION_TIMEOUT '
                      'MATERIALIZATION_WINDOW MAX_ATTEMPTS MAX_CONCURRENT_PASSES MIN_INTERVAL MISFIRE_GRACE '
                      'OWNER_QUARANTINE_GRACE OWNER_RECONCILIATION_BATCH_SIZE OWNER_RECONCILIATION_ENABLED '
                      'OWNER_RECONCILIATION_INTERVAL OWNER_RECONCILIATION_TIMEOUT OWNER_SETTLE_PERIOD POLL_TIMEOUT '
                      'POLL_TRIGGERS_ENABLED REAPER_BATCH_SIZE REAPER_INTERVAL REAPER_TIMEOUT RETENTION '
                      'RETENTION_INTERVAL RETENTION_TIMEOUT SYSTEM_TASKS_ENABLED TRIGGER_NODE_MODE',
    'N8N_SECURITY_': 'AUDIT_DAYS_ABANDONED_WORKFLOW POLICY_MANAGED_BY_ENV SENSITIVE_FIELD_RULES',
    'N8N_SENTRY_': 'DSN EVENT_LOOP_BLOCK_DETECTION_ENABLED EVENT_LOOP_BLOCK_MAX_EVENTS_PER_HOUR '
                   'EVENT_LOOP_BLOCK_THRESHOLD PROFILES_SAMPLE_RATE TRACES_SAMPLE_RATE TRACES_SLOW_SPAN_THRESHOLD_MS '
                   'WEBHOOK_TRACES_SAMPLE_RATE',
    'N8N_SKIP_': 'AUTH_ON_OAUTH_CALLBACK CHAT_WORKFLOW_CLEANUP CREDENTIAL_OVERWRITE',
    'N8N_SMTP_': 'HOST OAUTH_PRIVATE_KEY OAUTH_SERVICE_CLIENT PASS PORT SENDER SSL STARTTLS USER',
    'N8N_SSO_': 'JUST_IN_TIME_PROVISIONING LDAP_LOGIN_ENABLED LDAP_LOGIN_LABEL MANAGED_BY_ENV OIDC_ACR_VALUES '
                'OIDC_ADDITIONAL_SCOPES OIDC_CLIENT_ID OIDC_CLIENT_SECRET OIDC_DISCOVERY_ENDPOINT OIDC_LOGIN_ENABLED '
                'OIDC_PROMPT OIDC_RP_INITIATED_LOGOUT_ENABLED REDIRECT_LOGIN_TO_SSO SAML_LOGIN_ENABLED '
                'SAML_LOGIN_LABEL SAML_METADATA SAML_METADATA_URL SCOPES_INSTANCE_ROLE_CLAIM_NAME SCOPES_NAME '
                'SCOPES_PROJECTS_ROLES_CLAIM_NAME SCOPES_PROVISION_INSTANCE_ROLE SCOPES_PROVISION_PROJECT_ROLES '
                'SCOPES_USE_EXPRESSION_MAPPING USER_ROLE_PROVISIONING',
    'N8N_SSRF_': 'ALLOWED_HOSTNAMES ALLOWED_IP_RANGES BLOCKED_HOSTNAMES BLOCKED_IP_RANGES DNS_CACHE_MAX_SIZE '
                 'PROTECTION_ENABLED',
    'N8N_TOKEN_': 'EXCHANGE_EMBED_LOGIN_PER_MINUTE EXCHANGE_ENABLED EXCHANGE_EXCLUDE_OWNER '
                  'EXCHANGE_JTI_CLEANUP_BATCH_SIZE EXCHANGE_JTI_CLEANUP_INTERVAL_SECONDS '
                  'EXCHANGE_KEY_REFRESH_INTERVAL_SECONDS EXCHANGE_MAX_TOKEN_TTL EXCHANGE_TOKEN_EXCHANGE_PER_MINUTE '
                  'EXCHANGE_TRUSTED_KEYS',
    'N8N_UM_': 'EMAIL_TEMPLATES_API_KEY_REVOKED EMAIL_TEMPLATES_CREDENTIALS_SHARED '
               'EMAIL_TEMPLATES_EMAIL_CHANGE_COMPLETED EMAIL_TEMPLATES_EMAIL_CHANGE_REQUESTED EMAIL_TEMPLATES_INVITE '
               'EMAIL_TEMPLATES_MCP_CLIENT_REVOKED EMAIL_TEMPLATES_PROJECT_SHARED EMAIL_TEMPLATES_PWRESET '
               'EMAIL_TEMPLATES_WORKFLOW_AUTODEACTIVATED EMAIL_TEMPLATES_WORKFLOW_FAILURE '
               'EMAIL_TEMPLATES_WORKFLOW_SHARED',
    'N8N_USER_': 'FOLDER MANAGEMENT_JWT_DURATION_HOURS MANAGEMENT_JWT_REFRESH_TIMEOUT_HOURS MANAGEMENT_JWT_SECRET',
    'N8N_VERSION_': 'NOTIFICATIONS_ENABLED NOTIFICATIONS_ENDPOINT NOTIFICATIONS_INFO_URL '
                    'NOTIFICATIONS_WHATS_NEW_ENABLED NOTIFICATIONS_WHATS_NEW_ENDPOINT',
    'N8N_WEBHOOK_': 'RESPONSE_RELAY_OFFLOAD_ENABLED RESPONSE_RELAY_SIZE_MAX URL',
    'N8N_WORKER_': 'POOLS_ENABLED POOL_NAME SERVER_ADDRESS',
    'N8N_WORKFLOW_': 'ACTIVATION_BATCH_SIZE AUTODEACTIVATION_ENABLED AUTODEACTIVATION_MAX_LAST_EXECUTIONS '
                     'CALLER_POLICY_DEFAULT_OPTION HISTORY_COMPACTION_BATCH_DELAY_MS HISTORY_COMPACTION_BATCH_SIZE '
                     'HISTORY_COMPACTION_SKIP_ON_START_UP HISTORY_COMPACTION_TRIM_ON_START_UP '
                     'HISTORY_OPTIMIZING_MINIMUM_AGE_HOURS HISTORY_OPTIMIZING_TIME_WINDOW_HOURS HISTORY_PRUNE_TIME '
                     'HISTORY_TRIMMING_MINIMUM_AGE_DAYS HISTORY_TRIMMING_TIME_WINDOW_DAYS INDEX_BATCH_SIZE '
                     'PUBLICATION_CONCURRENCY PUBLICATION_OUTBOX_CLEANUP_BATCH_SIZE '
                     'PUBLICATION_OUTBOX_CLEANUP_INTERVAL_SECONDS PUBLICATION_OUTBOX_COMPLETED_RETENTION_HOURS '
                     'PUBLICATION_OUTBOX_FAILED_RETENTION_HOURS PUBLICATION_OUTBOX_LEASE_SECONDS '
                     'PUBLICATION_OUTBOX_POLL_INTERVAL_MS PUBLICATION_RECONCILE_INTERVAL_SECONDS TAGS_DISABLED',
    'QUEUE_': 'HEALTH_CHECK_ACTIVE HEALTH_CHECK_PORT',
    'QUEUE_BULL_': 'PREFIX REDIS_CLUSTER_NODES REDIS_DB REDIS_DNS_LOOKUP_STRATEGY REDIS_DUALSTACK REDIS_HOST '
                   'REDIS_KEEP_ALIVE REDIS_KEEP_ALIVE_DELAY REDIS_KEEP_ALIVE_INTERVAL REDIS_PASSWORD REDIS_PORT '
                   'REDIS_RECONNECT_ON_FAILOVER REDIS_SLOT_REFRESH_INTERVAL REDIS_SLOT_REFRESH_TIMEOUT '
                   'REDIS_TIMEOUT_THRESHOLD REDIS_TLS REDIS_TLS_SERVERNAME REDIS_TLS_VALIDATE_CERTIFICATE '
                   'REDIS_USERNAME',
    'QUEUE_WORKER_': 'LOCK_DURATION LOCK_RENEW_TIME STALLED_INTERVAL TIMEOUT',
}
KNOWN_N8N_VARS = frozenset(prefix + suffix for prefix, suffixes in _KNOWN_BY_PREFIX.items()
                           for suffix in suffixes.split())

# A secret by its name: *PASSWORD*, *SECRET*, *TOKEN*, *_KEY and redis-cli's REDISCLI_AUTH.
_SECRET_NAME = re.compile(r'PASSWORD|SECRET|TOKEN|_KEY$|^REDISCLI_AUTH$')
_SECRET_SUFFIX = re.compile(r'(PASSWORD|SECRET|TOKEN|_KEY|_AUTH)$')
_SETTING_VALUE = re.compile(r'^(true|false|yes|no|on|off|-?\d+(\.\d+)?)$', re.IGNORECASE)


def is_secret_name(name):
    """True for a variable name that holds a secret by convention; never for its *_FILE variant."""
    return not name.endswith('_FILE') and bool(_SECRET_NAME.search(name))


def is_plain_secret(name, value):
    """A secret-looking variable with a value. A boolean or a number is a setting (N8N_PASSWORD_MIN_LENGTH=8,
    N8N_TOKEN_EXCHANGE_ENABLED=true), unless the name ends with the secret word (POSTGRES_PASSWORD=1234)."""
    if not value or not is_secret_name(name):
        return False
    return not (_SETTING_VALUE.match(str(value).strip()) and not _SECRET_SUFFIX.search(name))


def env_dict(environment):
    """Compose's environment (a dict, or a list of NAME=value) -> dict; a name without a value maps to None."""
    if isinstance(environment, dict):
        return dict(environment)
    result = {}
    for item in environment or []:
        name, sep, value = str(item).partition('=')
        result[name] = value if sep else None
    return result


def image_repository(image):
    """'registry:5000/n8nio/n8n:1.2@sha256:..' -> 'n8nio/n8n' (no registry host, tag or digest)."""
    ref = str(image or '').split('@', 1)[0]
    parts = ref.split('/')
    if len(parts) > 1 and ('.' in parts[0] or ':' in parts[0] or parts[0] == 'localhost'):
        parts = parts[1:]
    last = parts[-1].split(':', 1)[0] if parts else ''
    return '/'.join(parts[:-1] + [last])


def is_n8n_image(image):
    return 'n8n' in image_repository(image).lower()


def image_version(image):
    """The tag's leading version numbers ('n8nio/n8n:2.41.1' -> (2, 41, 1)); None when the tag is no version."""
    ref = str(image or '').split('@', 1)[0]
    last = ref.rsplit('/', 1)[-1]
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.(\d+))?', last.split(':', 1)[1]) if ':' in last else None
    return tuple(int(x) for x in match.groups() if x is not None) if match else None


def _applies(since, version):
    return version is None or tuple(version) >= since


def _finding(rule, service, severity, message):
    return dict(id=rule, service=service, severity=severity, message=message)


def obsolete_replacement(name, version=None):
    """What to use instead of an obsolete n8n variable (None when the name is not obsolete for that version)."""
    entry = OBSOLETE_N8N_VARS.get(name)
    if entry is None:
        entry = next((v for p, v in OBSOLETE_N8N_PREFIXES.items() if name.startswith(p)), None)
    return entry[1] if entry and _applies(entry[0], version) else None


def is_known_n8n_var(name):
    base = name[:-5] if name.endswith('_FILE') else name
    return base in KNOWN_N8N_VARS or base in OBSOLETE_N8N_VARS or base in DEPRECATED_N8N_VARS or \
        any(base.startswith(p) for p in OBSOLETE_N8N_PREFIXES)


def lint_n8n_vars(service, spec):
    """Obsolete variables are errors (n8n ignores them: the setting silently does nothing); deprecated and
    unknown ones (a typo is unknown too) are warnings."""
    version = image_version(spec.get('image'))
    findings = []
    for name in sorted(env_dict(spec.get('environment'))):
        if not name.startswith(N8N_VAR_PREFIXES):
            continue
        base = name[:-5] if name.endswith('_FILE') else name
        instead = obsolete_replacement(base, version)
        deprecated = DEPRECATED_N8N_VARS.get(base)
        if instead:
            findings.append(_finding('n8n-obsolete-var', service, ERROR, '%s: %s is obsolete or not an n8n setting '
                                     '(n8n ignores it); use %s' % (service, name, instead)))
        elif deprecated and _applies(deprecated[0], version):
            findings.append(_finding('n8n-deprecated-var', service, WARNING, '%s: %s is deprecated (n8n %s warns at '
                                     'start); use %s' % (service, name, '.'.join(map(str, deprecated[0])),
                                                         deprecated[1])))
        elif not is_known_n8n_var(name):
            findings.append(_finding('n8n-unknown-var', service, WARNING, '%s: %s looks like an n8n variable but n8n '
                                     'does not know it (a typo?)' % (service, name)))
    return findings


def lint_image(service, spec):
    if 'image' not in spec:
        return []
    error = image_ref_error('services.%s.image' % service, spec.get('image'))
    return [_finding('image-unpinned', service, ERROR, error)] if error else []


def _key_setting(env):
    return (env.get('N8N_ENCRYPTION_KEY') or None, env.get('N8N_ENCRYPTION_KEY_FILE') or None)


def lint_encryption_keys(services):
    """Main and workers must share one encryption key (or key file): a worker with another key cannot decrypt the
    credentials main stored. A service that sets neither gets a random key of its own. Task runners need none."""
    groups = {}
    for name in sorted(services):
        spec = services[name] or {}
        image = str(spec.get('image') or '')
        setting = _key_setting(env_dict(spec.get('environment')))
        if not is_n8n_image(image) or (setting == (None, None) and 'runner' in image_repository(image)):
            continue
        groups.setdefault(setting, []).append(name)
    if len(groups) < 2:
        return []
    described = ['[%s]' % ', '.join(names) + (' sets neither' if setting == (None, None) else '')
                 for setting, names in sorted(groups.items(), key=lambda item: item[1])]
    return [_finding('encryption-key-mismatch', None, ERROR,
                     'N8N_ENCRYPTION_KEY / N8N_ENCRYPTION_KEY_FILE differ between the n8n services %s (values not '
                     'shown): workers could not decrypt the credentials main stores; give every n8n service the same '
                     'key file' % ' vs '.join(described))]


def lint_plain_secrets(service, spec):
    """A secret in plain environment, where docker inspect shows it: X next to X_FILE, or any secret-looking value
    on a service that already reads its secrets from files (*_FILE). Names only, never values."""
    env = env_dict(spec.get('environment'))
    has_files = any(n.endswith('_FILE') for n in env)
    findings = []
    for name in sorted(env):
        if not env[name] or name.endswith('_FILE'):
            continue
        if name + '_FILE' in env:
            findings.append(_finding('secret-in-env', service, ERROR, '%s: %s is set next to %s_FILE; remove %s '
                                     '(the file is the one to keep)' % (service, name, name, name)))
        elif has_files and is_plain_secret(name, env[name]):
            findings.append(_finding('secret-in-env', service, ERROR, '%s: %s holds a secret in plain environment '
                                     'while the service reads secrets from files; use %s_FILE' % (service, name, name)))
    return findings


def _argv(value):
    return value.split() if isinstance(value, str) else [str(a) for a in value or []]


def lint_requirepass(service, spec):
    argv = _argv(spec.get('entrypoint')) + _argv(spec.get('command'))
    if any(a == '--requirepass' or a.startswith('--requirepass=') for a in argv):
        return [_finding('secret-on-command-line', service, ERROR, '%s: the Redis password is on the command line '
                         '(--requirepass), where docker inspect and ps show it; put requirepass in a 0400 redis.conf'
                         % service)]
    return []


def lint_compose(config):
    """Findings ({id, service, severity, message}) for the merged project (docker compose config --format json)."""
    if not isinstance(config, dict) or not isinstance(config.get('services'), dict):
        raise ValueError('expected the JSON of docker compose config (an object with services)')
    services = config['services']
    findings = []
    for name in sorted(services):
        spec = services[name] or {}
        if is_n8n_image(spec.get('image')):
            findings.extend(lint_n8n_vars(name, spec))
        findings.extend(lint_image(name, spec))
        findings.extend(lint_plain_secrets(name, spec))
        findings.extend(lint_requirepass(name, spec))
    return findings + lint_encryption_keys(services)


# ---------------------------------------------------------------------------------------------------------------
# Audit: CIS Docker Benchmark v1.6.0 section 5 (its numbers and titles) and our own controls
# ---------------------------------------------------------------------------------------------------------------

BENCHMARK = 'CIS Docker Benchmark v1.6.0'
# Every control of the benchmark's section 5, numbered as v1.6.0 numbers it - swarm mode moved there as 5.1 (it was
# 7.1), so every other control is one higher than in v1.5.0 - and as docker-bench-security reports it since 1.6.1
# (its 1.6.0 release still numbered section 5 like v1.5.0). Then ours.
CONTROLS = (
    ('5.1', 'Ensure swarm mode is not Enabled, if not needed'),
    ('5.2', 'Ensure that, if applicable, an AppArmor Profile is enabled'),
    ('5.3', 'Ensure that, if applicable, SELinux security options are set'),
    ('5.4', 'Ensure that Linux kernel capabilities are restricted within containers'),
    ('5.5', 'Ensure that privileged containers are not used'),
    ('5.6', 'Ensure sensitive host system directories are not mounted on containers'),
    ('5.7', 'Ensure sshd is not run within containers'),
    ('5.8', 'Ensure privileged ports are not mapped within containers'),
    ('5.9', 'Ensure that only needed ports are open on the container'),
    ('5.10', "Ensure that the host's network namespace is not shared"),
    ('5.11', 'Ensure that the memory usage for containers is limited'),
    ('5.12', 'Ensure that CPU priority is set appropriately on containers'),
    ('5.13', "Ensure that the container's root filesystem is mounted as read only"),
    ('5.14', 'Ensure that incoming container traffic is bound to a specific host interface'),
    ('5.15', "Ensure that the 'on-failure' container restart policy is set to '5'"),
    ('5.16', "Ensure that the host's process namespace is not shared"),
    ('5.17', "Ensure that the host's IPC namespace is not shared"),
    ('5.18', 'Ensure that host devices are not directly exposed to containers'),
    ('5.19', 'Ensure that the default ulimit is overwritten at runtime if needed'),
    ('5.20', 'Ensure mount propagation mode is not set to shared'),
    ('5.21', "Ensure that the host's UTS namespace is not shared"),
    ('5.22', 'Ensure the default seccomp profile is not Disabled'),
    ('5.23', 'Ensure that docker exec commands are not used with the privileged option'),
    ('5.24', 'Ensure that docker exec commands are not used with the user=root option'),
    ('5.25', 'Ensure that cgroup usage is confirmed'),
    ('5.26', 'Ensure that the container is restricted from acquiring additional privileges'),
    ('5.27', 'Ensure that container health is checked at runtime'),
    ('5.28', 'Ensure that Docker commands always make use of the latest version of their image'),
    ('5.29', 'Ensure that the PIDs cgroup limit is used'),
    ('5.30', "Ensure that Docker's default bridge 'docker0' is not used"),
    ('5.31', "Ensure that the host's user namespaces are not shared"),
    ('5.32', 'Ensure that the Docker socket is not mounted inside any containers'),
    ('N8N-1', 'No secret in container environment, command, entrypoint or labels'),
    ('N8N-2', 'Container runs as a non-root user'),
    ('N8N-3', 'Container logs rotate (json-file with max-size)'),
    ('N8N-5', 'Stack files and directories are not more permissive than required'),
    ('N8N-6', 'Nothing listens beyond loopback on the ports the project publishes'),
)
# Ids an earlier release of this audit used that name no control now: id -> what to use instead. Its 5.x ids (CIS
# v1.5.0's numbers) cannot be told apart this way: each is still an id, of another control (the old 5.12, read-only
# root, is 5.13; 5.12 is CPU priority now). docs/HARDENING.md has the old -> new table; a waiver that lands on a
# control checked by hand is warned about (unscored_waivers).
RETIRED_CONTROLS = {'N8N-4': '5.28, whose check it is'}
TITLES = dict(CONTROLS)
HOST = 'host'
SENSITIVE_HOST_DIRS = ('/', '/boot', '/dev', '/etc', '/lib', '/proc', '/sys', '/usr')
DEFAULT_PUBLISHED_ALLOWED = ('127.0.0.1', '::1')
# CIS 5.9: the container ports each compose service needs published - n8n main's editor, API and webhooks.
DEFAULT_NEEDED_PORTS = {'n8n': ('5678/tcp',)}
# CIS 5.15 asks for on-failure with at most 5 retries, so a crash loop stops. We accept unless-stopped and always
# too: n8n must come back by itself after a host reboot or a Docker restart, which on-failure does not do, and the
# monitoring role alerts on restart counts instead of the policy capping them.
RESTART_POLICIES = ('on-failure', 'unless-stopped', 'always')


def _hc(c):
    return c.get('HostConfig') or {}


def _cfg(c):
    return c.get('Config') or {}


def _security_opts(c):
    return [str(o).replace('=', ':', 1) for o in _hc(c).get('SecurityOpt') or []]


def _bind_mounts(c):
    return [m for m in c.get('Mounts') or [] if m.get('Type') == 'bind']


def container_name(c):
    return str(c.get('Name') or c.get('Id', '')[:12]).lstrip('/')


def compose_service(c):
    return (_cfg(c).get('Labels') or {}).get('com.docker.compose.service') or ''


def port_bindings(c):
    """Published ports as sorted (host address, host port, container port): what a running container has bound
    (NetworkSettings.Ports), else what it is configured with (HostConfig.PortBindings; an empty address there means
    every interface)."""
    running = (c.get('NetworkSettings') or {}).get('Ports') or {}
    source = running if any(running.values()) else (_hc(c).get('PortBindings') or {})
    return sorted({(str(b.get('HostIp') or ''), str(b.get('HostPort') or ''), container_port)
                   for container_port, bindings in source.items() for b in bindings or []})


def _bracket(address):
    return '[%s]' % address if ':' in str(address) else str(address)


def _socket(address, port):
    return '%s:%s' % (_bracket(address) if address else '*', port)


def is_loopback(address):
    try:
        ip = ipaddress.ip_address(str(address).strip('[]'))
    except ValueError:
        return address == 'localhost'
    mapped = getattr(ip, 'ipv4_mapped', None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _same_address(a, b):
    try:
        return ipaddress.ip_address(str(a).strip('[]')) == ipaddress.ip_address(str(b).strip('[]'))
    except ValueError:
        return a == b


def _allowed(address, allowed):
    return any(_same_address(address, a) for a in allowed)


# --- one function per container control: (status, detail) ---


def apparmor_profile(c, host):
    if not host.get('apparmor_enabled'):
        return NA, 'the host has no AppArmor'
    profile = c.get('AppArmorProfile') or ''
    if not profile or profile == 'unconfined' or 'apparmor:unconfined' in _security_opts(c):
        return FAIL, 'no AppArmor profile (unconfined)'
    return PASS, 'profile %s' % profile


def _daemon_uses(host, option):
    """True when `docker info` lists the security option (name=selinux, name=apparmor...)."""
    return any(str(o).split(',', 1)[0] == 'name=' + option
               for o in (host.get('engine') or {}).get('security_options') or [])


def selinux_options(c, host):
    """Applicable where the host kernel runs SELinux (or the daemon says it labels containers): the container must
    have an SELinux process label and not run with label=disable."""
    daemon = _daemon_uses(host, 'selinux')
    if not host.get('selinux_enabled') and not daemon:
        return NA, 'the host has no SELinux'
    if 'label:disable' in _security_opts(c):
        return FAIL, 'SELinux labelling disabled (label=disable)'
    label = c.get('ProcessLabel') or ''
    if not label:
        return FAIL, 'no SELinux label' + ('' if daemon else ' (the Docker daemon runs without --selinux-enabled)')
    return PASS, 'process label %s' % label


def capabilities_restricted(c, host):
    dropped = [str(x).upper() for x in _hc(c).get('CapDrop') or []]
    added = sorted(str(x).upper() for x in _hc(c).get('CapAdd') or [])
    add = '; CapAdd: %s' % ', '.join(added) if added else '; none added'
    if 'ALL' in dropped or 'CAP_ALL' in dropped:
        return PASS, 'CapDrop ALL' + add
    return FAIL, 'CapDrop %s' % (', '.join(dropped) or 'none') + add


def not_privileged(c, host):
    return (FAIL, 'runs privileged') if _hc(c).get('Privileged') else (PASS, 'not privileged')


def _sensitive_mount(m):
    source = posixpath.normpath(str(m.get('Source') or '/'))
    if source.endswith('docker.sock'):
        return True
    under = any(source.startswith(d + '/') for d in SENSITIVE_HOST_DIRS if d != '/')
    return source in SENSITIVE_HOST_DIRS or (under and m.get('RW', True))


def no_sensitive_host_dirs(c, host):
    bad = ['%s (%s)' % (m.get('Source'), 'rw' if m.get('RW', True) else 'ro') for m in _bind_mounts(c)
           if _sensitive_mount(m)]
    return (FAIL, 'mounts ' + ', '.join(bad)) if bad else (PASS, 'no sensitive host directory mounted')


_SSHD = re.compile(r'^(\S*/)?sshd(:|\s|$)')


def parse_docker_top(text):
    """`docker top` output -> the command line of each process. The CLI aligns the columns (ps -ef's UID PID PPID C
    STIME TTY TIME CMD), so the command starts where the header's last column, CMD or COMMAND, starts."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    header = lines[0].split() if lines else []
    if not header or header[-1] not in ('CMD', 'COMMAND'):
        raise ValueError('docker top printed no CMD column')
    start = lines[0].rindex(header[-1])
    return [line[start:].strip() for line in lines[1:]]


def no_sshd(c, host):
    """From `docker top` (the host's view of the container's processes; nothing runs inside the container)."""
    processes = (host.get('processes') or {}).get(container_name(c))
    if processes is None:
        return NA, 'processes not read'
    if isinstance(processes, str):
        return NA, 'processes not read: %s' % processes
    sshd = [p for p in processes if _SSHD.match(p)]
    if sshd:
        return FAIL, 'runs sshd (%d of %d processes)' % (len(sshd), len(processes))
    return PASS, 'no sshd among %d processes' % len(processes)


def no_privileged_ports(c, host):
    low = sorted({int(p) for _a, p, _c in port_bindings(c) if p.isdigit() and 0 < int(p) < 1024})
    if low:
        return FAIL, 'publishes host port %s' % ', '.join(map(str, low))
    return PASS, 'no host port below 1024'


def _port_key(port):
    port = str(port)
    return port if '/' in port else port + '/tcp'


def only_needed_ports(c, host):
    """Published container ports must be ones the service needs (host['needed_ports']: compose service -> ports;
    the stack needs n8n main's 5678 only). Anything else is a finding to remove or waive with the reason."""
    needed_by = host.get('needed_ports')
    needed_by = DEFAULT_NEEDED_PORTS if needed_by is None else needed_by
    service = compose_service(c)
    ports = needed_by.get(service) or []
    needed = sorted({_port_key(p) for p in ([ports] if isinstance(ports, (str, int)) else ports)})
    published = sorted({cport for _a, _p, cport in port_bindings(c)})
    if not published:
        return PASS, 'publishes no ports'
    extra = [p for p in published if p not in needed]
    if extra:
        return FAIL, 'publishes %s, not needed by %s (needed: %s)' % (
            ', '.join(extra), service or 'this container', ', '.join(needed) or 'none')
    return PASS, 'publishes %s only (needed)' % ', '.join(published)


def _namespace(c, key, label):
    mode = str(_hc(c).get(key) or '')
    return (FAIL, '%s host' % label) if mode == 'host' else (PASS, '%s %s' % (label, mode or 'private'))


def host_network_not_shared(c, host):
    return _namespace(c, 'NetworkMode', 'network')


def memory_limited(c, host):
    memory = int(_hc(c).get('Memory') or 0)
    return (PASS, 'memory limit %d MiB' % (memory // 1048576)) if memory > 0 else (FAIL, 'no memory limit')


def cpu_limited(c, host):
    """Docker reports 0 for a value not set; an explicit CpuShares of 1024 (Docker's default weight) counts as set:
    the hardening role sets it on purpose, relative to the workers' lower share."""
    hc = _hc(c)
    found = ['%s %s' % (k, hc.get(k)) for k in ('NanoCpus', 'CpuQuota', 'CpuShares') if int(hc.get(k) or 0) > 0]
    return (PASS, ', '.join(found)) if found else (FAIL, 'no CPU limit or shares')


def read_only_root(c, host):
    return (PASS, 'read-only root filesystem') if _hc(c).get('ReadonlyRootfs') else (FAIL, 'writable root filesystem')


def bound_to_allowed_address(c, host):
    allowed = host.get('published_allowed') or DEFAULT_PUBLISHED_ALLOWED
    bindings = port_bindings(c)
    if not bindings:
        return PASS, 'publishes no ports'
    bad = [_socket(a, p) for a, p, _c in bindings if not _allowed(a, allowed)]
    if bad:
        return FAIL, 'published on %s (allowed: %s)' % (', '.join(bad), ', '.join(allowed))
    return PASS, 'published on %s' % ', '.join(_socket(a, p) for a, p, _c in bindings)


def restart_policy_set(c, host):
    policy = (_hc(c).get('RestartPolicy') or {}).get('Name') or 'no'
    return (PASS, 'restart %s' % policy) if policy in RESTART_POLICIES else (FAIL, 'restart policy %s' % policy)


def host_pid_not_shared(c, host):
    return _namespace(c, 'PidMode', 'pid')


def host_ipc_not_shared(c, host):
    return _namespace(c, 'IpcMode', 'ipc')


def no_host_devices(c, host):
    devices = [d.get('PathOnHost') or '?' for d in _hc(c).get('Devices') or []]
    return (FAIL, 'devices ' + ', '.join(devices)) if devices else (PASS, 'no host devices')


def ulimits_default(c, host):
    """CIS wants no ulimit override unless it is needed: none passes; an override is for a person to judge (the
    benchmark calls this control manual; a daemon's --default-ulimit shows here too), so it is not scored."""
    ulimits = ['%s=%s:%s' % (u.get('Name'), u.get('Soft'), u.get('Hard')) for u in _hc(c).get('Ulimits') or []]
    if ulimits:
        return MANUAL, 'overrides %s: check it is needed (a daemon default-ulimit shows here too)' % ', '.join(ulimits)
    return PASS, "no ulimit overridden (the daemon's defaults)"


def no_shared_propagation(c, host):
    shared = [m.get('Destination') for m in c.get('Mounts') or [] if m.get('Propagation') in ('shared', 'rshared')]
    return (FAIL, 'shared propagation on ' + ', '.join(shared)) if shared else (PASS, 'no shared mount propagation')


def host_uts_not_shared(c, host):
    return _namespace(c, 'UTSMode', 'uts')


def seccomp_enabled(c, host):
    if 'seccomp:unconfined' in _security_opts(c):
        return FAIL, 'seccomp=unconfined'
    return PASS, 'default or custom seccomp profile'


def default_cgroup_parent(c, host):
    parent = _hc(c).get('CgroupParent') or ''
    return (FAIL, 'cgroup parent %s' % parent) if parent else (PASS, 'default cgroup parent')


def no_new_privileges(c, host):
    opts = _security_opts(c)
    if 'no-new-privileges' in opts or 'no-new-privileges:true' in opts:
        return PASS, 'no-new-privileges'
    return FAIL, 'no-new-privileges not set'


def healthcheck_present(c, host):
    test = (_cfg(c).get('Healthcheck') or {}).get('Test') or []
    if not test or test[0] == 'NONE':
        return FAIL, 'no healthcheck'
    return PASS, 'healthcheck %s' % test[0]


def pids_limited(c, host):
    limit = int(_hc(c).get('PidsLimit') or 0)
    return (PASS, 'PidsLimit %d' % limit) if limit > 0 else (FAIL, 'no PIDs limit')


def not_default_bridge(c, host):
    mode = str(_hc(c).get('NetworkMode') or 'default')
    return (FAIL, 'network %s' % mode) if mode in ('default', 'bridge') else (PASS, 'network %s' % mode)


def host_userns_not_shared(c, host):
    return _namespace(c, 'UsernsMode', 'userns')


def docker_socket_not_mounted(c, host):
    sockets = [m.get('Source') for m in _bind_mounts(c) if str(m.get('Source') or '').endswith('docker.sock')]
    return (FAIL, 'mounts ' + ', '.join(sockets)) if sockets else (PASS, 'docker socket not mounted')


def _places(c):
    """(place, text) pairs where a secret must not be: env values, command, entrypoint, args, labels, healthcheck."""
    cfg = _cfg(c)
    for item in cfg.get('Env') or []:
        name, _sep, value = str(item).partition('=')
        yield 'env %s' % name, value
    for key, argv in (('Cmd', cfg.get('Cmd')), ('Entrypoint', cfg.get('Entrypoint')), ('Args', c.get('Args')),
                      ('Healthcheck', (cfg.get('Healthcheck') or {}).get('Test'))):
        for i, arg in enumerate(_argv(argv)):
            yield '%s[%d]' % (key, i), arg
    for key, value in (cfg.get('Labels') or {}).items():
        yield 'label %s' % key, str(value)


def no_secret_in_config(c, host):
    secrets = [s for s in host.get('secrets') or [] if s and str(s).strip()]
    leaks = sorted({place for place, text in _places(c) if any(str(s) in text for s in secrets)})
    for item in _cfg(c).get('Env') or []:
        name, _sep, value = str(item).partition('=')
        if is_plain_secret(name, value) and 'env %s' % name not in leaks:
            leaks.append('env %s (by its name)' % name)
    if leaks:
        return FAIL, 'secret in ' + ', '.join(leaks)
    return PASS, 'no secret value or secret-looking variable found'


def non_root_user(c, host):
    user = str(_cfg(c).get('User') or '')
    if not user or user.split(':', 1)[0] in ('root', '0'):
        return FAIL, 'starts as root' + (' (%s)' % user if user else '')
    return PASS, 'user %s' % user


def log_rotation(c, host):
    log = _hc(c).get('LogConfig') or {}
    options = log.get('Config') or {}
    if log.get('Type') == 'json-file' and options.get('max-size'):
        return PASS, 'json-file max-size %s max-file %s' % (options['max-size'], options.get('max-file', '1'))
    return FAIL, 'log driver %s without max-size' % (log.get('Type') or '?')


def image_current(c, host):
    """CIS 5.28's remedy is version pinning: the image a tag or digest pins (not latest, not untagged). And the
    container must run the image its reference names now (host['images']: reference -> image id): after a pull
    that moved the tag it still runs the old one until it is recreated."""
    image = _cfg(c).get('Image') or ''
    error = image_ref_error('image', image)
    if error:
        return FAIL, error
    running, named = str(c.get('Image') or ''), (host.get('images') or {}).get(image)
    if running.startswith('sha256:') and str(named or '').startswith('sha256:') and running != named:
        return FAIL, '%s now names %s but the container runs %s: recreate it (docker compose up -d)' % (
            image, named[7:19], running[7:19])
    return PASS, image + (' (the image it names now)' if named and running == named else '')


CONTAINER_CHECKS = (
    ('5.2', apparmor_profile), ('5.3', selinux_options), ('5.4', capabilities_restricted), ('5.5', not_privileged),
    ('5.6', no_sensitive_host_dirs), ('5.7', no_sshd), ('5.8', no_privileged_ports), ('5.9', only_needed_ports),
    ('5.10', host_network_not_shared), ('5.11', memory_limited), ('5.12', cpu_limited), ('5.13', read_only_root),
    ('5.14', bound_to_allowed_address), ('5.15', restart_policy_set), ('5.16', host_pid_not_shared),
    ('5.17', host_ipc_not_shared), ('5.18', no_host_devices), ('5.19', ulimits_default),
    ('5.20', no_shared_propagation), ('5.21', host_uts_not_shared), ('5.22', seccomp_enabled),
    ('5.25', default_cgroup_parent), ('5.26', no_new_privileges), ('5.27', healthcheck_present),
    ('5.28', image_current), ('5.29', pids_limited), ('5.30', not_default_bridge), ('5.31', host_userns_not_shared),
    ('5.32', docker_socket_not_mounted),
    ('N8N-1', no_secret_in_config), ('N8N-2', non_root_user), ('N8N-3', log_rotation),
)


def _result(control, service, status, detail, compose=''):
    result = dict(id=control, title=TITLES[control], service=service, status=status, detail=detail)
    if compose:
        result['compose_service'] = compose
    return result


def container_results(c, host):
    name, compose = container_name(c), compose_service(c)
    return [_result(control, name, *check(c, host), compose=compose) for control, check in CONTAINER_CHECKS]


# --- host controls ---


def swarm_mode(host):
    """`docker info`'s Swarm.LocalNodeState: the stack runs under Compose and needs no swarm."""
    engine = host.get('engine') or {}
    state = engine.get('swarm')
    if not state:
        return NA, 'engine not read' + (': %s' % engine['error'] if engine.get('error') else '')
    if state == 'inactive':
        return PASS, 'swarm mode inactive'
    return FAIL, 'swarm mode %s: the stack runs under Compose and needs none (docker swarm leave)' % state


# CIS 5.23 and 5.24 are about how people run `docker exec`; an exec session leaves nothing in the container's state
# (the benchmark audits them in the host's audit log, auditd). This collection's modules exec without --privileged
# and without --user, so as the container's own user - non-root on a hardened stack (N8N-2).
EXEC_MANUAL = ('not visible in the running state (an exec session leaves no trace in docker inspect): check the '
               "host's audit log (auditd) for docker exec %s; this collection's modules never pass it")


def host_results(containers, host):
    return [_result('5.1', HOST, *swarm_mode(host)),
            _result('5.23', HOST, MANUAL, EXEC_MANUAL % '--privileged'),
            _result('5.24', HOST, MANUAL, EXEC_MANUAL % '--user root'),
            _result('N8N-5', HOST, *file_modes(host)),
            _result('N8N-6', HOST, *listening_beyond_loopback(containers, host))]


def _file_problem(f):
    path, want = f.get('path'), int(f.get('want_max_mode') or 0)
    if f.get('error'):
        return '%s: %s' % (path, f['error'])
    if not f.get('exists'):
        return '%s missing' % path
    kind = f.get('want_kind')
    if kind and f.get('kind') and kind != f['kind']:
        return '%s is a %s, not a %s' % (path, f['kind'], kind)
    mode = int(f.get('mode') or 0) & 0o7777
    if mode & ~want:
        return '%s is %04o, at most %04o' % (path, mode, want)
    return None


def file_modes(host):
    files = host.get('files') or []
    if not files:
        return NA, 'no files given'
    problems = [p for p in (_file_problem(f) for f in files) if p]
    if problems:
        return FAIL, '; '.join(problems)
    return PASS, '%d files and directories within their modes' % len(files)


def published_host_ports(containers):
    return sorted({int(p) for c in containers for _a, p, _c in port_bindings(c) if p.isdigit()})


def listening_beyond_loopback(containers, host):
    ports = published_host_ports(containers)
    if not ports:
        return NA, 'the project publishes no ports'
    allowed = host.get('published_allowed') or DEFAULT_PUBLISHED_ALLOWED
    bad = sorted({_socket(s['address'], int(s['port'])) for s in host.get('listening') or []
                  if int(s.get('port') or 0) in ports and not is_loopback(s.get('address'))
                  and not _allowed(s.get('address'), allowed)})
    if bad:
        return FAIL, 'listening on %s' % ', '.join(bad)
    return PASS, 'port %s listens on loopback or allowed addresses only' % ', '.join(map(str, ports))


# --- waivers, score, table ---


def control_ids_text():
    """The valid control ids, short: '5.1 to 5.32, N8N-1, N8N-2, ...'."""
    cis = [c for c, _t in CONTROLS if c.startswith('5.')]
    ours = [c for c, _t in CONTROLS if not c.startswith('5.')]
    return ', '.join(['%s to %s' % (cis[0], cis[-1])] + ours)


def waiver_problem(waiver):
    """Why a waiver cannot be used (no id, no reason, an id that names no control), else None."""
    if not isinstance(waiver, dict):
        return 'a waiver must be {id, reason}, got %r' % (waiver,)
    waiver_id = str(waiver.get('id') or '').strip()
    control, _sep, target = waiver_id.partition('@')
    if not control or (_sep and not target):
        return 'a waiver needs an id: a control, or control@container (got %r)' % (waiver.get('id'),)
    if control not in TITLES:
        instead = RETIRED_CONTROLS.get(control)
        return 'waiver %s names no control of the audit%s; the controls are %s (%s numbering; docs/HARDENING.md ' \
               'has the old -> new table)' % (waiver_id, ' (%s is now %s)' % (control, instead) if instead else '',
                                              control_ids_text(), BENCHMARK)
    if not str(waiver.get('reason') or '').strip():
        return 'waiver %s needs a reason' % waiver_id
    return None


def _waiver_key(waiver):
    problem = waiver_problem(waiver)
    if problem:
        raise ValueError(problem)
    control, _sep, target = str(waiver['id']).strip().partition('@')
    return control, target, str(waiver['reason']).strip()


def waiver_matches(result, control, target):
    return result['id'] == control and (not target or target in (result['service'], result.get('compose_service')))


def apply_waivers(results, waivers):
    """A failing result a waiver names becomes waived, with the reason; a passing one stays pass. Raises ValueError
    for a waiver without a reason or naming no control."""
    keys = [_waiver_key(w) for w in waivers or []]
    for r in results:
        if r['status'] != FAIL:
            continue
        for control, target, reason in keys:
            if waiver_matches(r, control, target):
                r.update(status=WAIVED, reason=reason)
                break
    return results


def unused_waivers(results, waivers):
    """Waivers that match no result (a container or compose service that is gone)."""
    return [w['id'] for w in waivers or [] if not any(waiver_matches(r, *_waiver_key(w)[:2]) for r in results)]


def unscored_waivers(results, waivers):
    """Waivers whose control is only ever checked by hand here (5.23, 5.24, an overridden ulimit): a waiver cannot
    change them - often a waiver written for the control's number before the v1.6.0 renumbering."""
    unscored = []
    for w in waivers or []:
        matched = [r for r in results if waiver_matches(r, *_waiver_key(w)[:2])]
        if matched and all(r['status'] == MANUAL for r in matched):
            unscored.append(w['id'])
    return unscored


def evaluate(containers, host, waivers=None):
    """One result per container and control, plus the host's, sorted by control; waivers applied."""
    host = host or {}
    order = dict((control, i) for i, (control, _title) in enumerate(CONTROLS))
    results = [r for c in sorted(containers, key=container_name) for r in container_results(c, host)]
    results.extend(host_results(containers, host))
    results.sort(key=lambda r: (order[r['id']], r['service']))
    return apply_waivers(results, waivers)


def score(results):
    """passed / (passed + failed); waived, not applicable and manual results do not count."""
    counts = dict((s, sum(1 for r in results if r['status'] == s)) for s in (PASS, FAIL, WAIVED, NA, MANUAL))
    applicable = counts[PASS] + counts[FAIL]
    percent = round(100.0 * counts[PASS] / applicable, 1) if applicable else 100.0
    return dict(passed=counts[PASS], failed=counts[FAIL], waived=counts[WAIVED], na=counts[NA],
                manual=counts[MANUAL], applicable=applicable, percent=percent)


def failed_controls(results):
    """'control@service' of each failing result: the form a waiver takes."""
    return ['%s@%s' % (r['id'], r['service']) for r in results if r['status'] == FAIL]


def summary_line(summary):
    return ('score %.1f %% - %d of %d applicable controls pass, %d fail; %d waived, %d not applicable, %d to check '
            'by hand (%s)' % (summary['percent'], summary['passed'], summary['applicable'], summary['failed'],
                              summary['waived'], summary['na'], summary.get('manual', 0), BENCHMARK))


def table(results, summary, title_width=48):
    """Fixed-width columns (control, title, service, status, detail), failures first, then the summary line."""
    def cut(text, width):
        return text if len(text) <= width else text[:width - 3] + '...'
    rows = [('CONTROL', 'TITLE', 'SERVICE', 'STATUS', 'DETAIL')]
    for r in sorted(results, key=lambda r: r['status'] != FAIL):
        detail = r['detail'] + (' - waived: %s' % r['reason'] if r['status'] == WAIVED else '')
        rows.append((r['id'], cut(r['title'], title_width), r['service'], r['status'].upper(), detail))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + '  ' + row[4] for row in rows]
    return '\n'.join(lines + ['', summary_line(summary)])


def threshold_message(summary, threshold, results):
    failed = failed_controls(results)
    return 'audit score %.1f %% is below the threshold %g %% (failed: %s)' % (
        summary['percent'], threshold, ', '.join(failed) or 'none')


# --- the hardening role's settings ---


def _below(values, least):
    """{service: value} of the values that are not whole numbers >= least."""
    low = {}
    for service, value in sorted(values.items()):
        try:
            ok = not isinstance(value, bool) and int(value) >= least
        except (TypeError, ValueError):
            ok = False
        if not ok:
            low[service] = value
    return low


def settings_problems(pids_limit, cpu_shares, threshold, waivers):
    """What in the hardening role's settings cannot work, each problem named with its values (empty: nothing), so
    a refusal names only the rules that are broken."""
    problems = []
    for name, values, least in (('hardening_pids_limit', pids_limit, 32), ('hardening_cpu_shares', cpu_shares, 2)):
        if not isinstance(values, dict) or not values:
            problems.append('%s must map each service to a number (is %r)' % (name, values))
            continue
        low = _below(values, least)
        if low:
            problems.append('%s must be at least %d for every service (%s)' % (
                name, least, ', '.join('%s is %s' % item for item in low.items())))
    try:
        threshold_ok = 0 <= float(threshold) <= 100
    except (TypeError, ValueError):
        threshold_ok = False
    if not threshold_ok:
        problems.append('hardening_audit_threshold must be a percent from 0 to 100 (is %s)' % (threshold,))
    if not isinstance(waivers, list):
        problems.append('hardening_audit_waivers must be a list of {id, reason} (is %r)' % (waivers,))
    else:
        problems.extend('hardening_audit_waivers: %s' % p for p in map(waiver_problem, waivers) if p)
    return problems

# --- /proc/net/tcp ---


def _hex_address(text):
    """/proc/net/tcp{,6} address: IPv4 as one little-endian 32-bit word, IPv6 as four of them."""
    raw = bytes.fromhex(text)
    if len(raw) not in (4, 16):
        raise ValueError('bad address %s' % text)
    ip = ipaddress.ip_address(b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)))
    mapped = getattr(ip, 'ipv4_mapped', None)
    return '::ffff:%s' % mapped if mapped else str(ip)  # the same text on every Python version


def parse_proc_net_tcp(text):
    """Listening sockets (state 0A) of /proc/net/tcp or /proc/net/tcp6 text -> [{address, port, proto}]."""
    sockets = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != '0A' or ':' not in fields[1]:
            continue
        address, _sep, port = fields[1].rpartition(':')
        try:
            parsed = _hex_address(address)
            sockets.append(dict(address=parsed, port=int(port, 16), proto='tcp6' if len(address) == 32 else 'tcp'))
        except ValueError:
            continue
    return sockets


# ---------------------------------------------------------------------------------------------------------------
# Docker daemon: default log rotation for containers started without their own log options
# ---------------------------------------------------------------------------------------------------------------

ROTATING_DRIVERS = ('json-file', 'local')  # the drivers that keep logs on the Docker host's disk


def daemon_log_config(current_text, max_size, max_file):
    """/etc/docker/daemon.json text (empty: no file) -> (the settings with log rotation, what was kept or why).

    Only ``log-driver``/``log-opts`` are touched; every other key stays. A driver that ships logs elsewhere
    (journald, syslog, fluentd...) is someone's decision: kept, and said. ``local`` rotates by itself (Docker's
    defaults 20m x 5) unless sizes are given: ours are set for it too. Raises ValueError for a file that is not a
    JSON object, so the role stops with nothing written.
    """
    if not re.match(r'^[1-9][0-9]*[kmg]$', str(max_size)):
        raise ValueError('log max-size %r is not a size such as 10m' % (max_size,))
    if int(max_file) < 1:
        raise ValueError('log max-file must be at least 1')
    text = (current_text or '').strip()
    try:
        config = json.loads(text) if text else {}
    except ValueError as exc:
        raise ValueError('daemon.json is not valid JSON (%s): fix it first, it was left as it is' % exc)
    if not isinstance(config, dict):
        raise ValueError('daemon.json is not a JSON object: fix it first, it was left as it is')
    driver = config.get('log-driver', 'json-file')
    if driver not in ROTATING_DRIVERS:
        return config, 'log-driver %s keeps no log on this host: left as it is' % driver
    opts = config.get('log-opts') or {}
    if not isinstance(opts, dict):
        raise ValueError('daemon.json log-opts is not an object: fix it first, it was left as it is')
    merged = dict(config)
    merged['log-driver'] = driver
    # daemon.json wants every log-opt as a string
    merged['log-opts'] = dict(opts, **{'max-size': str(max_size), 'max-file': str(int(max_file))})
    return merged, 'log-driver %s, max-size %s, max-file %s' % (driver, max_size, int(max_file))


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL: n8n's own login role (not the superuser)
# ---------------------------------------------------------------------------------------------------------------

SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
APP_ROLE_RE = re.compile(r'^[a-z_][a-z0-9_]{0,62}$')


def app_role_password(superuser_password, role):
    """The app role's password, derived from the stack's PostgreSQL password (HMAC-SHA256, keyed by it).

    Derived, not generated: .env (backed up with every set) stays the one place a secret is kept, so a restored
    .env gives the same app password; knowing the app password does not reveal the superuser's.
    """
    if not superuser_password:
        raise ValueError('the stack has no PostgreSQL password to derive the app role password from')
    digest = hmac.new(str(superuser_password).encode('utf-8'), ('n8n_ops app role ' + role).encode('utf-8'),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode('ascii').rstrip('=')


def _b64(raw):
    return base64.b64encode(raw).decode('ascii')


def scram_sha256_verifier(password, salt, iterations=SCRAM_ITERATIONS):
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (pg_authid.rolpassword), computed here so the password
    itself never travels in SQL (a server logging statements would keep it). ASCII passwords only: PostgreSQL's
    SASLprep leaves them as they are.

    Not scramp (PyPI, RFC 7677): this runs in the controller's Python, and a collection installed from Galaxy brings
    no Python packages; RFC 5802's stored form is PBKDF2 and two HMACs from hashlib. The unit tests check it against
    a verifier PostgreSQL 17 stored and against scramp's make_auth_info."""
    if not isinstance(password, str) or not password or not all(32 <= ord(ch) < 127 for ch in password):
        raise ValueError('the password must be non-empty printable ASCII')
    salted = hashlib.pbkdf2_hmac('sha256', password.encode('ascii'), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b'Client Key', hashlib.sha256).digest()).digest()
    server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
    return 'SCRAM-SHA-256$%d:%s$%s:%s' % (iterations, _b64(salt), _b64(stored_key), _b64(server_key))


def scram_verifier_matches(verifier, password):
    """True when a stored SCRAM-SHA-256 verifier is the one for password (any other form: False)."""
    match = re.match(r'^SCRAM-SHA-256\$([0-9]+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$',
                     verifier or '')
    if not match:
        return False
    try:
        expected = scram_sha256_verifier(password, base64.b64decode(match.group(2)), int(match.group(1)))
    except ValueError:
        return False
    return hmac.compare_digest(expected, verifier)


def app_role_name_problem(role, superuser):
    """Why role cannot be n8n's login role (a name PostgreSQL would need quoted, or the superuser's), else None."""
    if not APP_ROLE_RE.match(role or ''):
        return 'the app role name %r must be lower case letters, digits and _ (at most 63)' % (role,)
    if role == superuser:
        return 'the app role must not be the superuser %s: name another role' % superuser
    return None


def app_role_plan(role, superuser, current, password, salt):
    """What the app role needs: current is None (no such role) or {'super': bool, 'login': bool, 'verifier': str}.

    Returns {'action': 'create' | 'alter' | 'none', 'reasons': [...], 'verifier': str or ''}; the verifier (salted
    with salt) only when the password must be set. Raises ValueError for a role name PostgreSQL would need quoted,
    or the superuser's own name.
    """
    problem = app_role_name_problem(role, superuser)
    if problem:
        raise ValueError(problem)
    if current is None:
        return {'action': 'create', 'reasons': ['no role %s yet' % role],
                'verifier': scram_sha256_verifier(password, salt)}
    reasons = []
    if current.get('super'):
        reasons.append('%s is a superuser' % role)
    if not current.get('login'):
        reasons.append('%s cannot log in' % role)
    password_ok = scram_verifier_matches(current.get('verifier'), password)
    if not password_ok:
        reasons.append('the password of %s is not the derived one' % role)
    return {'action': 'alter' if reasons else 'none', 'reasons': reasons,
            'verifier': '' if password_ok else scram_sha256_verifier(password, salt)}
