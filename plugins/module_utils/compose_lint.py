# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""Compose lint (pure): what is wrong in the merged Compose project, named before anything is deployed.

The lint reads ``docker compose config --format json`` and names obsolete or unknown n8n variables, unpinned
images, encryption keys that differ between main and workers, secrets in plain environment next to secret files.

No I/O here: the hardening role gathers the input. No secret value is ever put in a finding: only variable names
and places.
"""

from __future__ import annotations

import re

from ansible_collections.n8n_ops.stack.plugins.module_utils.stack_config import image_ref_error

ERROR, WARNING = 'error', 'warning'

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


def argv_list(value):
    """A command or entrypoint (a string, split on whitespace, or a list) -> its words."""
    return value.split() if isinstance(value, str) else [str(a) for a in value or []]


def lint_requirepass(service, spec):
    argv = argv_list(spec.get('entrypoint')) + argv_list(spec.get('command'))
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
