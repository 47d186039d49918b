// Key Vault for the source and destination connection secrets named in
// table_control_dbconfig (and DATABRICKS_CLIENT_SECRET). Access is by Azure
// RBAC only: the app's identity holds Key Vault Secrets User.

param location string

@description('Globally unique vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Purge protection cannot be turned off again once on; production wants it.')
param enablePurgeProtection bool

param tags object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // ARM refuses `false` here once the vault exists; null leaves it off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
