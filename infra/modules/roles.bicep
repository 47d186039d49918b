// Least-privilege role assignments for the app's managed identity, each scoped
// to the one resource it needs:
//   - Service Bus Data Sender and Data Receiver on the loads queue (the sensor
//     sends, the loader's trigger receives and settles); not the namespace.
//   - Key Vault Secrets User on the vault: read secret values, nothing else.
//   - Storage Blob Data Owner on the host storage account: the host keeps its
//     keys, timer schedule status and singleton leases in blobs (leases need
//     Owner), and Flex Consumption reads the deployment package from a blob.
//     No queue or table role: the app has no storage queue, blob or durable
//     trigger, which are what use storage queues and tables.
//   - Monitoring Metrics Publisher on Application Insights: telemetry ingestion
//     with an Entra token, as local authentication is off there.

@description('Principal (object) id of the app\'s managed identity.')
param principalId string

@description('Resource id of the app\'s managed identity; names the assignments, as it is known before deployment.')
param identityId string

param storageAccountName string
param serviceBusNamespaceName string
param queueName string
param keyVaultName string
param appInsightsName string

@description('Also grant Service Bus Data Owner on the queue, so that the platform\'s scaler can read the queue length with the app\'s identity. Off by default: Data Receiver is enough to run, and scaling then follows delivered messages.')
param grantQueueOwnerForScaling bool

// Built-in role definition ids (the same in every tenant).
var roleIds = {
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName

  resource queue 'queues' existing = {
    name: queueName
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace::queue.id, identityId, roleIds.serviceBusDataSender)
  scope: namespace::queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(namespace::queue.id, identityId, roleIds.serviceBusDataReceiver)
  scope: namespace::queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantQueueOwnerForScaling) {
  name: guid(namespace::queue.id, identityId, roleIds.serviceBusDataOwner)
  scope: namespace::queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.serviceBusDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityId, roleIds.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityId, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityId, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
