// Pre-production. Replace the control database host and the alert addresses
// with your own before the first deployment (see README, "Deploying to Azure").
using 'main.bicep'

param environmentName = 'preprod'
param controlDbAuth = 'entra'
param controlDbHost = 'pg-dataloader-preprod.postgres.database.azure.com'
param controlDbName = 'dataloader_test'
param logLevel = 'debug'
param alertEmails = [
  'dataloader-team@example.com'
]
