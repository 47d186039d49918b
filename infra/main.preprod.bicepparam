// Pre-production. Replace the control database host, the admin API's app
// registration and the alert addresses with your own before the first
// deployment (see README, "Deploying to Azure").
using 'main.bicep'

param environmentName = 'preprod'
param controlDbAuth = 'entra'
param controlDbHost = 'pg-dataloader-preprod.postgres.database.azure.com'
param controlDbName = 'dataloader_test'
param logLevel = 'debug'
// The Entra app registration of the admin API (README, "Signing in to the admin API").
param apiAuthClientId = '00000000-0000-0000-0000-000000000000'
param alertEmails = [
  'dataloader-team@example.com'
]
