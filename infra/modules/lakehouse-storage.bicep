// The lakehouse landing storage: an ADLS Gen2 account (hierarchical namespace)
// where the `adls` destination lands Parquet and manifests, and where the
// `databricks` destination stages them for the warehouse. Shared keys off: the
// app's managed identity writes with Storage Blob Data Contributor, scoped to
// this account; Databricks reads through a Unity Catalog external location
// (see the README: granting the workspace access).

param location string

@description('Globally unique storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Container the loads land in.')
param containerName string

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

@description('Resource id of the app\'s managed identity; names the role assignment, as it is known before deployment.')
param identityId string

param tags object

// Storage Blob Data Contributor (the same id in every tenant).
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    isHnsEnabled: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource contributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityId, storageBlobDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

output name string = storage.name
output dfsEndpoint string = storage.properties.primaryEndpoints.dfs
output landingUrl string = '${storage.properties.primaryEndpoints.dfs}${containerName}'
