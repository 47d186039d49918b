// The Flex Consumption plan and the Function App (Linux, Node.js), running as a
// user-assigned managed identity, with every app setting the product reads.

param location string

param baseName string

@description('Globally unique Function App name.')
param name string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Blob endpoint of the host storage account, for example https://st.blob.core.windows.net/.')
param storageBlobEndpoint string

@description('Blob container the app package is deployed to.')
param deploymentContainerName string

@description('Node.js major version of the Functions worker.')
@allowed(['20', '22'])
param nodeVersion string

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of each instance.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('App settings: name to value. Secrets appear only as Key Vault references.')
param appSettings object

@description('Client id of the Entra app registration of the admin API.')
param apiAuthClientId string

param tags object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${baseName}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings resolve with this identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Flex Consumption takes the worker runtime from here; FUNCTIONS_WORKER_RUNTIME
      // and FUNCTIONS_EXTENSION_VERSION must not be app settings.
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName

// App Service authentication in front of every HTTP function: callers sign in
// with Entra ID, and the platform passes the user and their app roles to the
// admin API as x-ms-client-principal, a header it strips from any request it
// did not authenticate. Without this the API would trust whatever header a
// holder of a function key sent.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      // The admin API's public operations, which need no principal (a function key still).
      excludedPaths: [
        '/api/health'
        '/api/openapi.json'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: apiAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            apiAuthClientId
            'api://${apiAuthClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}
