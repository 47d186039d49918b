// Log Analytics workspace and the workspace-based Application Insights the
// Functions host sends its logs, requests and exceptions to.

@description('Azure region of the resources.')
param location string

@description('Resource name stem, for example dataloader-prod.')
param baseName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Days of logs kept in the workspace.')
@minValue(30)
@maxValue(730)
param retentionInDays int

param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Ingestion only with an Entra token (the app's managed identity holds
    // Monitoring Metrics Publisher), so the connection string is not a credential.
    DisableLocalAuth: true
  }
}

output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
output connectionString string = appInsights.properties.ConnectionString
