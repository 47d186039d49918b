// Production. Replace the control database hosts, the admin API's app
// registration and the alert addresses with your own before the first
// deployment (see README, "Deploying to Azure").
using 'main.bicep'

param environmentName = 'prod'
param controlDbAuth = 'entra'
param controlDbHost = 'pg-dataloader-prod.postgres.database.azure.com'
param controlDbName = 'dataloader'
// Promotions read from pre-production; the production identity needs a
// read-only role there (README, "The PostgreSQL role of the app").
param preprodDatabaseUrl = 'postgresql://id-dataloader-prod@pg-dataloader-preprod.postgres.database.azure.com:5432/dataloader_test'
param maximumInstanceCount = 40
param logLevel = 'info'
// The Entra app registration of the admin API (README, "Signing in to the admin API").
param apiAuthClientId = '00000000-0000-0000-0000-000000000000'
param alertEmails = [
  'dataloader-oncall@example.com'
]
