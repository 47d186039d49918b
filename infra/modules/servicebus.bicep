// Service Bus namespace (Standard: duplicate detection needs it) and the queue
// of load messages, one message per due row and schedule slot.

param location string

@description('Globally unique namespace name (6-50 characters).')
param name string

@description('Name of the queue of load messages (the LOADS_QUEUE_NAME setting).')
param queueName string

@description('Peek-lock duration in minutes; the Functions host renews it while a load runs.')
@minValue(1)
@maxValue(5)
param lockDurationMinutes int

@description('Deliveries before a message is dead-lettered (the LOCAL_QUEUE_MAX_DELIVERIES semantics).')
@minValue(1)
param maxDeliveryCount int

@description('Minutes a message may wait; afterwards it is dead-lettered. Matches the reaper\'s Queued timeout, after which the run is failed anyway.')
@minValue(5)
param messageTimeToLiveMinutes int

@description('Window in which a message with the same messageId is dropped as a duplicate (ISO 8601).')
param duplicateDetectionWindow string

param tags object

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    // Only Entra identities, no shared access keys.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    // The sensor's messageId is deterministic per (config_id, schedule slot): a
    // re-send after a crash between send and commit is dropped here. The window
    // is far longer than any re-send, which happens within the next few ticks.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    lockDuration: 'PT${lockDurationMinutes}M'
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: 'PT${messageTimeToLiveMinutes}M'
    deadLetteringOnMessageExpiration: true
    requiresSession: false
    enablePartitioning: false
    enableBatchedOperations: true
    maxSizeInMegabytes: 1024
  }
}

output namespaceName string = namespace.name
output namespaceId string = namespace.id
output queueName string = queue.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
