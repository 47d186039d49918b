// DataLoader on Azure: a Flex Consumption Function App (Linux, Node.js) running
// as a user-assigned managed identity, its storage, the Service Bus queue of load
// messages, Key Vault, monitoring, alerts, and least-privilege role assignments.
// Deploy into a resource group with a parameter file:
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.prod.bicepparam
//
// Every setting the code reads (shared/settings.ts) is set in `appSettings`
// below; test/infra.test.ts fails when the two lists drift apart.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- naming

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Environment: pre-production or production.')
@allowed(['preprod', 'prod'])
param environmentName string

@description('Stem of resource names.')
@minLength(3)
@maxLength(12)
param namePrefix string = 'dataloader'

// ---------------------------------------------------------------- hosting

@description('Node.js major version of the Functions worker.')
@allowed(['20', '22'])
param nodeVersion string = '22'

@description('Upper bound of Function App instances (40 is the lowest limit Flex Consumption accepts).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each Function App instance.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Days of logs kept in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

// ---------------------------------------------------------------- control database

@description('How the app authenticates to the control database: entra (its managed identity), databricks (Lakebase OAuth with a service principal) or password (the whole URL, password included, from a Key Vault secret).')
@allowed(['entra', 'databricks', 'password'])
param controlDbAuth string = 'entra'

@description('Control database host, for example pg-dataloader.postgres.database.azure.com or a Lakebase instance host.')
param controlDbHost string

@description('Control database name.')
param controlDbName string = 'dataloader'

@description('Control database port.')
param controlDbPort int = 5432

@description('PostgreSQL role the app logs in as. Empty: the managed identity\'s name (entra) or the Databricks client id (databricks).')
param controlDbUser string = ''

@description('With controlDbAuth=password only: the Key Vault secret holding the full postgresql:// URL.')
param controlDbUrlSecretName string = 'control-database-url'

@description('Pre-production control database, the source of promotions, as postgresql://user@host:5432/dataloader_test without a password (it authenticates like the control database). Empty in pre-production.')
param preprodDatabaseUrl string = ''

@description('Statement timeout of control database connections, in milliseconds.')
param controlDbStatementTimeoutMs int = 30000

@description('Size of the control database pool of each instance.')
param controlDbPoolMax int = 10

@description('Databricks workspace URL, for controlDbAuth=databricks.')
param databricksHost string = ''

@description('Databricks service principal (application) id, for controlDbAuth=databricks.')
param databricksClientId string = ''

@description('Key Vault secret holding the Databricks service principal\'s OAuth secret; empty when unused.')
param databricksClientSecretName string = ''

// ---------------------------------------------------------------- loads

@description('The table_control_dbconfig row loads are written to.')
param destinationDbConfigKey string = 'destination'

@description('db_kv_scope value that resolves secrets from this deployment\'s Key Vault.')
param keyVaultScope string = 'azure-keyvault'

@description('More db_kv_scope values mapped to vault URLs, for vaults this template does not create.')
param additionalKeyVaultUrls object = {}

@description('Seconds a resolved secret stays cached.')
param secretCacheTtlSeconds int = 300

@description('Name of the queue of load messages.')
param loadsQueueName string = 'loads'

@description('Peek-lock of a load message, in minutes (Service Bus allows at most 5); the host renews it while a load runs.')
@minValue(1)
@maxValue(5)
param queueLockMinutes int = 5

@description('Deliveries of one message before it is dead-lettered.')
@minValue(1)
@maxValue(100)
param queueMaxDeliveryCount int = 5

@description('Window of Service Bus duplicate detection (ISO 8601), longer than any re-send of a message.')
param duplicateDetectionWindow string = 'P1D'

@description('Sensor timer (NCRONTAB, six fields).')
param sensorSchedule string = '0 * * * * *'

@description('Rows the sensor claims per batch.')
param sensorBatchSize int = 500

@description('Milliseconds one sensor tick may spend.')
param sensorTickBudgetMs int = 45000

@description('IANA time zone in which load_cron is read.')
param cronTimezone string = 'UTC'

@description('Loads in flight per db_config_key.')
param sourceConcurrencyLimit int = 4

@description('Per db_config_key overrides of sourceConcurrencyLimit, for example {"sql_sales_prod": 2}.')
param sourceConcurrencyOverrides object = {}

@description('Reaper timer (NCRONTAB, six fields).')
param reaperSchedule string = '30 */5 * * * *'

@description('Minutes a run may stay Queued before the reaper fails it; load messages expire after the same time.')
@minValue(5)
param queuedTimeoutMinutes int = 60

@description('Minutes a run may stay In Progress before the reaper fails it. host.json\'s functionTimeout and maxAutoLockRenewalDuration (4 h) must stay above it.')
@minValue(5)
@maxValue(230)
param inProgressTimeoutMinutes int = 180

@description('Seconds between heartbeats of a running load.')
param heartbeatIntervalSeconds int = 30

@description('Attempts of a load on transient errors.')
param loaderMaxAttempts int = 3

@description('Loads at once in the local host (on Azure, host.json\'s maxConcurrentCalls bounds it).')
param loaderConcurrency int = 4

@description('Parallel range reads of one partitioned table.')
param partitionReadConcurrency int = 4

@description('Seconds a chunked backfill run may spend before it yields.')
param backfillTimeBudgetSeconds int = 600

@description('Minutes re-read behind a timestamp watermark, for late commits.')
param incrementalLookbackMinutes int = 10

@description('Lakehouse: days the databricks destination keeps staged Parquet after the commit (0: removed at once).')
@minValue(0)
param databricksStagingRetentionDays int = 0

@description('Lakehouse: container of the landing storage account (ADLS Gen2) the adls and databricks destinations write to.')
param lakehouseContainerName string = 'landing'

@description('Seconds a settled watermark keeps below the oldest open source transaction, for clock skew.')
param watermarkClockSkewSeconds int = 5

// ---------------------------------------------------------------- admin API and logs

@description('App role of readers of the admin API.')
param apiReaderRole string = 'DataLoader.Reader'

@description('App role of admins of the admin API.')
param apiAdminRole string = 'DataLoader.Admin'

@description('App role allowed to promote configuration from pre-production.')
param apiPromoterRole string = 'DataLoader.Promoter'

@description('Log level of the product\'s event lines.')
@allowed(['debug', 'info', 'warn', 'error'])
param logLevel string = 'info'

// ---------------------------------------------------------------- access and alerts

@description('Client (application) id of the Entra app registration that signs users in to the admin API; its app roles are apiReaderRole, apiAdminRole and apiPromoterRole.')
param apiAuthClientId string

@description('Grant the app Service Bus Data Owner on the loads queue so that the scaler can read the queue length (see modules/roles.bicep).')
param grantQueueOwnerForScaling bool = false

@description('Email addresses notified of failed loads, stuck runs, function failures and dead-lettered messages.')
@minLength(1)
param alertEmails string[]

@description('Resource tags.')
param tags object = {}

// ---------------------------------------------------------------- names

var baseName = '${namePrefix}-${environmentName}'
var token = take(uniqueString(subscription().id, resourceGroup().id, baseName), 6)
var compactPrefix = toLower(take(replace(namePrefix, '-', ''), 10))
var allTags = union({ application: 'dataloader', environment: environmentName }, tags)
var deploymentContainerName = 'app-package'
// Names are computed here, not read from module outputs, so that what-if can
// predict every resource id before deployment.
var storageAccountName = take('st${compactPrefix}${environmentName}${token}', 24)
var lakehouseStorageAccountName = take('dl${compactPrefix}${environmentName}${token}', 24)
var serviceBusNamespaceName = 'sb-${baseName}-${token}'
var keyVaultName = take('kv${compactPrefix}${environmentName}${token}', 24)
var appInsightsName = 'appi-${baseName}'

// ---------------------------------------------------------------- resources

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-${baseName}'
  location: location
  tags: allTags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    baseName: baseName
    appInsightsName: appInsightsName
    retentionInDays: logRetentionInDays
    tags: allTags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: storageAccountName
    deploymentContainerName: deploymentContainerName
    tags: allTags
  }
}

module lakehouseStorage 'modules/lakehouse-storage.bicep' = {
  name: 'lakehouseStorage'
  params: {
    location: location
    name: lakehouseStorageAccountName
    containerName: lakehouseContainerName
    principalId: identity.properties.principalId
    identityId: identity.id
    tags: allTags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'serviceBus'
  params: {
    location: location
    name: serviceBusNamespaceName
    queueName: loadsQueueName
    lockDurationMinutes: queueLockMinutes
    maxDeliveryCount: queueMaxDeliveryCount
    messageTimeToLiveMinutes: queuedTimeoutMinutes
    duplicateDetectionWindow: duplicateDetectionWindow
    tags: allTags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    location: location
    name: keyVaultName
    enablePurgeProtection: environmentName == 'prod'
    tags: allTags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  dependsOn: [storage, serviceBus, keyVault, monitoring]
  params: {
    principalId: identity.properties.principalId
    identityId: identity.id
    storageAccountName: storageAccountName
    serviceBusNamespaceName: serviceBusNamespaceName
    queueName: loadsQueueName
    keyVaultName: keyVaultName
    appInsightsName: appInsightsName
    grantQueueOwnerForScaling: grantQueueOwnerForScaling
  }
}

// ---------------------------------------------------------------- app settings

// A Key Vault reference: the platform resolves it with the app's identity, so
// the secret's value never appears in the template, the deployment or the portal.
func keyVaultReference(vaultUri string, secretName string) string =>
  '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${secretName}/)'

var controlDbUserName = !empty(controlDbUser)
  ? controlDbUser
  : (controlDbAuth == 'databricks' ? databricksClientId : identity.name)

var appSettings = {
  // Host: storage and Service Bus trigger through the managed identity.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.properties.clientId
  // DefaultAzureCredential in the code (Service Bus sender, Key Vault, Entra
  // tokens for PostgreSQL) picks the user-assigned identity by this id.
  AZURE_CLIENT_ID: identity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'

  // The product's settings (shared/settings.ts), one for one.
  DATABASE_URL: controlDbAuth == 'password'
    ? keyVaultReference(keyVault.outputs.uri, controlDbUrlSecretName)
    : 'postgresql://${uriComponent(controlDbUserName)}@${controlDbHost}:${controlDbPort}/${uriComponent(controlDbName)}'
  CONTROL_DB_AUTH: controlDbAuth
  CONTROL_DB_SSL: 'require'
  CONTROL_DB_STATEMENT_TIMEOUT_MS: string(controlDbStatementTimeoutMs)
  CONTROL_DB_POOL_MAX: string(controlDbPoolMax)
  DATABRICKS_HOST: databricksHost
  DATABRICKS_CLIENT_ID: databricksClientId
  DATABRICKS_CLIENT_SECRET: empty(databricksClientSecretName)
    ? ''
    : keyVaultReference(keyVault.outputs.uri, databricksClientSecretName)
  PREPROD_DATABASE_URL: preprodDatabaseUrl
  DESTINATION_DB_CONFIG_KEY: destinationDbConfigKey
  KEYVAULT_URLS: string(union(additionalKeyVaultUrls, { '${keyVaultScope}': keyVault.outputs.uri }))
  SECRET_CACHE_TTL_SECONDS: string(secretCacheTtlSeconds)
  ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  LOADS_QUEUE_NAME: serviceBus.outputs.queueName
  // The local queue's settings mirror the Service Bus queue's, so that a local
  // run behaves as the deployed one does (they are unused on Azure).
  LOCAL_QUEUE_LOCK_SECONDS: string(queueLockMinutes * 60)
  LOCAL_QUEUE_MAX_DELIVERIES: string(queueMaxDeliveryCount)
  SENSOR_SCHEDULE: sensorSchedule
  SENSOR_BATCH_SIZE: string(sensorBatchSize)
  SENSOR_TICK_BUDGET_MS: string(sensorTickBudgetMs)
  CRON_TIMEZONE: cronTimezone
  SOURCE_CONCURRENCY_LIMIT: string(sourceConcurrencyLimit)
  SOURCE_CONCURRENCY_OVERRIDES: string(sourceConcurrencyOverrides)
  REAPER_SCHEDULE: reaperSchedule
  QUEUED_TIMEOUT_MINUTES: string(queuedTimeoutMinutes)
  IN_PROGRESS_TIMEOUT_MINUTES: string(inProgressTimeoutMinutes)
  HEARTBEAT_INTERVAL_SECONDS: string(heartbeatIntervalSeconds)
  LOADER_MAX_ATTEMPTS: string(loaderMaxAttempts)
  LOADER_CONCURRENCY: string(loaderConcurrency)
  PARTITION_READ_CONCURRENCY: string(partitionReadConcurrency)
  BACKFILL_TIME_BUDGET_SECONDS: string(backfillTimeBudgetSeconds)
  INCREMENTAL_LOOKBACK_MINUTES: string(incrementalLookbackMinutes)
  DATABRICKS_STAGING_RETENTION_DAYS: string(databricksStagingRetentionDays)
  RETRY_BACKOFF_MINUTES: '1,5,15,60'
  BACKFILL_PAUSE_SECONDS: '5'
  WATERMARK_CLOCK_SKEW_SECONDS: string(watermarkClockSkewSeconds)
  API_READER_ROLE: apiReaderRole
  API_ADMIN_ROLE: apiAdminRole
  API_PROMOTER_ROLE: apiPromoterRole
  // The development principal never acts on Azure.
  DEV_PRINCIPAL: ''
  ALLOW_DEV_PRINCIPAL: 'false'
  // Secrets come from Key Vault only: a scope missing from KEYVAULT_URLS fails, never reads the app settings.
  SECRETS_FROM_ENVIRONMENT: 'false'
  LOG_LEVEL: logLevel
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  params: {
    location: location
    baseName: baseName
    name: 'func-${baseName}-${token}'
    identityId: identity.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    nodeVersion: nodeVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: appSettings
    apiAuthClientId: apiAuthClientId
    tags: allTags
  }
  // The host needs its storage and the queue the moment it starts.
  dependsOn: [roles]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    baseName: baseName
    alertEmails: alertEmails
    appInsightsId: monitoring.outputs.appInsightsId
    serviceBusNamespaceId: serviceBus.outputs.namespaceId
    queueName: serviceBus.outputs.queueName
    // The loader's event line: `<time> warn  load failed config_id=... reason=...`.
    failedLoadsQuery: 'traces | where message matches regex "^[^ ]+ +[a-z]+ +load failed( |$)"'
    // The reaper's event line: `<time> warn  reaper: run timed out config_id=... status=...`.
    stuckRunsQuery: 'traces | where message matches regex "^[^ ]+ +[a-z]+ +reaper: run timed out( |$)"'
    tags: allTags
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
@description('The PostgreSQL role to create for the app with pgaadauth_create_principal (controlDbAuth=entra).')
output identityName string = identity.name
output identityClientId string = identity.properties.clientId
output identityPrincipalId string = identity.properties.principalId
output keyVaultName string = keyVault.outputs.name
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output storageAccountName string = storage.outputs.name
output lakehouseStorageAccountName string = lakehouseStorage.outputs.name
output lakehouseLandingUrl string = lakehouseStorage.outputs.landingUrl
