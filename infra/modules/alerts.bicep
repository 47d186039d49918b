// Alerts that page the team through one action group:
//   - failed loads: the loader's one-line "load failed" events;
//   - stuck runs: the reaper's events for runs it failed on timeout;
//   - function failures: any invocation that threw (a loader throw abandons the
//     message for a retry, so repeated failures show up here first);
//   - quarantined load messages: messages the loader could not read;
//   - dead-lettered load messages: a message delivered maxDeliveryCount times, or
//     expired before a loader took it.

param location string

param baseName string

@description('Email addresses notified by the action group.')
@minLength(1)
param alertEmails string[]

@description('Resource id of Application Insights, whose traces and requests the log alerts query.')
param appInsightsId string

@description('Resource id of the Service Bus namespace.')
param serviceBusNamespaceId string

@description('Name of the loads queue (the DeadletteredMessages metric is filtered on it).')
param queueName string

@description('KQL over Application Insights that returns one row per failed load.')
param failedLoadsQuery string

@description('KQL over Application Insights that returns one row per run failed by the reaper on timeout.')
param stuckRunsQuery string

param tags object

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${baseName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(baseName, '-', ''), 12)
    enabled: true
    emailReceivers: [
      for (email, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
  }
}

var logAlerts = [
  {
    name: 'failed-loads'
    displayName: 'DataLoader ${baseName}: loads failed'
    description: 'One or more loads finished Failed in the last 15 minutes; table_control.last_status_message and the run history say why.'
    severity: 2
    query: failedLoadsQuery
  }
  {
    name: 'stuck-runs'
    displayName: 'DataLoader ${baseName}: runs failed on timeout'
    description: 'The reaper failed runs that stayed Queued or In Progress past their timeout: loaders are not picking up messages, or loads hang.'
    severity: 2
    query: stuckRunsQuery
  }
  {
    name: 'quarantined-messages'
    displayName: 'DataLoader ${baseName}: load messages quarantined'
    description: 'The loader received load messages it could not read and kept them in control.quarantined_messages (counted in control.quarantined_messages_vw): something other than the sensor writes to the loads queue.'
    severity: 2
    query: 'traces | where message matches regex "^[^ ]+ +[a-z]+ +load message quarantined( |$)"'
  }
  {
    name: 'function-failures'
    displayName: 'DataLoader ${baseName}: function invocations failed'
    description: 'Function invocations threw in the last 15 minutes (sensor, reaper, loader or admin API).'
    severity: 3
    query: 'requests | where success == false'
  }
]

resource logAlertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for alert in logAlerts: {
    name: 'alert-${baseName}-${alert.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: alert.displayName
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [appInsightsId]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: [actionGroup.id]
      }
    }
  }
]

resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-${baseName}-dead-lettered'
  location: 'global'
  tags: tags
  properties: {
    description: 'Load messages are in the dead-letter queue of ${queueName}: delivered too often without completing, or expired before a loader took them.'
    severity: 2
    enabled: true
    scopes: [serviceBusNamespaceId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [queueName]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    autoMitigate: true
    actions: [
      { actionGroupId: actionGroup.id }
    ]
  }
}

output actionGroupId string = actionGroup.id
